#ifndef DQL_JPEG_DECODE_H
#define DQL_JPEG_DECODE_H

#include <stddef.h>
#include <stdint.h>

/// One decoded 8-bit JPEG image: grey (one byte a pixel) or RGB (three, pixel by pixel).
typedef struct {
    uint32_t width;
    uint32_t height;
    uint32_t components;
    uint8_t *pixels;
} dql_jpeg_image;

/// Decodes a JPEG with 8-bit samples (baseline, or extended with 8-bit samples) held in memory
/// with libjpeg-turbo; colour comes out as RGB, converted from YCbCr where the stream's
/// markers say so; when `stored_as_rgb` (the header says RGB), colour is taken as RGB unless
/// a JFIF marker or an Adobe marker with transform 1 says otherwise. Returns 0 on success (free the pixels with
/// dql_jpeg_free); 1 when libjpeg-turbo does not decode the stream (12-bit or lossless
/// processes, arithmetic coding, another number of components, damaged data): the caller
/// decodes it another way; 2 when the stream's size or components are not `width`, `height`
/// and `components`, or its data ends early or breaks off (libjpeg would fill the rest with
/// grey), with why in `error`.
int dql_jpeg_decode(const uint8_t *data, size_t length, uint32_t width, uint32_t height, uint32_t components,
                    int stored_as_rgb, dql_jpeg_image *image, char *error, size_t error_size);

void dql_jpeg_free(dql_jpeg_image *image);

#endif
