// xxHash from Debian's libxxhash-dev: XXH3-64, the checksum fetched bytes are checked against.
#include <xxhash.h>
