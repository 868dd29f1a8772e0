// zlib from Debian's zlib1g-dev, for the deflated transfer syntax.
#include <zlib.h>
