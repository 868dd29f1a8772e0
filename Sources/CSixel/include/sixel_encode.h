#ifndef DQL_SIXEL_ENCODE_H
#define DQL_SIXEL_ENCODE_H

#include <stddef.h>
#include <stdint.h>

/// An RGB picture (three bytes a pixel, row by row) as sixel escape sequences, quantised to a
/// palette of up to 256 colours by libsixel (Debian's libsixel). Returns 0 and the text in
/// `*text` (`*length` bytes; free it with free()), or nonzero when libsixel fails.
int dql_sixel_encode(const uint8_t *rgb, int width, int height, char **text, size_t *length);

#endif
