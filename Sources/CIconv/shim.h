// iconv from glibc, for DICOM character sets.
#include <iconv.h>
