#ifndef DQL_GDCM_DECODE_H
#define DQL_GDCM_DECODE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// The pixel data of one DICOM file decoded by GDCM: every frame, one after the other, as a
/// native (uncompressed, little-endian) Pixel Data would hold them, with the layout GDCM
/// decoded them to (which may differ from the file's header: JPEG baseline colour comes out
/// as RGB).
typedef struct {
    uint32_t columns;
    uint32_t rows;
    uint32_t frames;
    uint32_t samples_per_pixel;
    uint32_t bits_allocated;
    uint32_t bits_stored;
    uint32_t pixel_representation;
    uint32_t planar_configuration;
    char photometric[32];
    uint8_t *pixels;
    size_t length;
} dql_gdcm_image;

/// Decodes the encapsulated Pixel Data of the DICOM file held in `file` (JPEG baseline,
/// extended and lossless, JPEG-LS, RLE). Returns 0 on success (free the pixels with
/// dql_gdcm_free), else writes why into `error`. A decoded size over `max_length` bytes is
/// refused before anything is decoded. GDCM's codecs may print on stderr (its 16-bit JPEG
/// decoder refuses 12-bit data aloud before the 12-bit one decodes it) and Debian's GDCM aborts
/// on some damaged data: run this in a process of its own whose stderr nobody reads.
int dql_gdcm_decode(const uint8_t *file, size_t length, size_t max_length, dql_gdcm_image *image, char *error,
                    size_t error_size);

void dql_gdcm_free(dql_gdcm_image *image);

#ifdef __cplusplus
}
#endif

#endif
