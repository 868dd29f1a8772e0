#ifndef DQL_JPEG2000_DECODE_H
#define DQL_JPEG2000_DECODE_H

#include <stddef.h>
#include <stdint.h>

/// One decoded JPEG 2000 image: components interleaved pixel by pixel, each sample as int32.
typedef struct {
    uint32_t width;
    uint32_t height;
    uint32_t components;
    uint32_t precision;
    int is_signed;
    int32_t *samples;
} dql_jpeg2000_image;

/// Decodes a J2K codestream or a JP2 file held in memory. Returns 0 on success (free the
/// samples with dql_jpeg2000_free), else writes why into `error`.
/// `width`, `height` and `components` are what the header says: a codestream that says
/// otherwise is refused before anything is decoded (a tiny codestream can claim a huge image).
int dql_jpeg2000_decode(const uint8_t *data, size_t length, uint32_t width, uint32_t height, uint32_t components,
                        dql_jpeg2000_image *image, char *error, size_t error_size);

void dql_jpeg2000_free(dql_jpeg2000_image *image);

#endif
