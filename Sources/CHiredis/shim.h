// hiredis 0.14 from Debian's libhiredis-dev. Only the non-variadic API is usable from Swift.
#include <hiredis/hiredis.h>
