// Decoding 8-bit JPEG pixel data with libjpeg-turbo (Debian's libjpeg62-turbo) from memory.
// libjpeg reports errors through a callback that must not return: it jumps back here.
#include "jpeg_decode.h"

#include <stdio.h>  // before jpeglib.h, which uses FILE

#include <jpeglib.h>
// After jpeglib.h: the message codes of warnings.
#include <jerror.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    struct jpeg_error_mgr manager;
    jmp_buf back;
    /// The data ended or broke off: libjpeg fills the rest with grey and says so only as a
    /// warning.
    int damaged;
    char message[JMSG_LENGTH_MAX];
} error_handler;

static void fail(j_common_ptr info) {
    error_handler *handler = (error_handler *)info->err;
    longjmp(handler->back, 1);
}

/// Warnings are not printed; those saying the data is cut short or broken are kept.
static void note_damage(j_common_ptr info, int level) {
    error_handler *handler = (error_handler *)info->err;
    int code = info->err->msg_code;
    if (level < 0 && !handler->damaged && (code == JWRN_JPEG_EOF || code == JWRN_HIT_MARKER ||
                                            code == JWRN_MUST_RESYNC || code == JWRN_BOGUS_PROGRESSION)) {
        handler->damaged = 1;
        (*info->err->format_message)(info, handler->message);
    }
}

int dql_jpeg_decode(const uint8_t *data, size_t length, uint32_t width, uint32_t height, uint32_t components,
                    int stored_as_rgb, dql_jpeg_image *image, char *error, size_t error_size) {
    memset(image, 0, sizeof(*image));
    if (length == 0 || length > (size_t)0xFFFFFFFFu) return 1;
    struct jpeg_decompress_struct info;
    error_handler handler;
    info.err = jpeg_std_error(&handler.manager);
    handler.manager.error_exit = fail;
    handler.manager.emit_message = note_damage;
    handler.damaged = 0;
    handler.message[0] = 0;
    // Volatile: changed between setjmp and a longjmp back to it.
    uint8_t *volatile pixels = NULL;
    if (setjmp(handler.back)) {
        free(pixels);
        image->pixels = NULL;
        jpeg_destroy_decompress(&info);
        return 1;
    }
    jpeg_create_decompress(&info);
    jpeg_mem_src(&info, data, (unsigned long)length);
    jpeg_read_header(&info, TRUE);
    if (info.data_precision != 8 || (info.num_components != 1 && info.num_components != 3) ||
        info.jpeg_color_space == JCS_CMYK || info.jpeg_color_space == JCS_YCCK) {
        jpeg_destroy_decompress(&info);
        return 1;
    }
    if (info.image_width != width || info.image_height != height || (uint32_t)info.num_components != components) {
        snprintf(error, error_size, "the JPEG stream holds a %ux%u image of %d components; the header says %ux%u of %u",
                 info.image_width, info.image_height, info.num_components, width, height, components);
        jpeg_destroy_decompress(&info);
        return 2;
    }
    // Colour the DICOM header calls RGB is RGB unless the stream itself says it was
    // transformed (a JFIF marker, or an Adobe marker with transform 1): libjpeg would guess
    // YCbCr for three components with no marker, as pydicom and GDCM do not.
    if (stored_as_rgb && components == 3 && !info.saw_JFIF_marker &&
        !(info.saw_Adobe_marker && info.Adobe_transform == 1))
        info.jpeg_color_space = JCS_RGB;
    info.out_color_space = components == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_start_decompress(&info);
    size_t row = (size_t)info.output_width * (size_t)info.output_components;
    pixels = malloc(row * info.output_height);
    if (pixels == NULL) {
        jpeg_destroy_decompress(&info);
        snprintf(error, error_size, "no memory for the decoded frame");
        return 2;
    }
    while (info.output_scanline < info.output_height) {
        JSAMPROW line = pixels + row * info.output_scanline;
        jpeg_read_scanlines(&info, &line, 1);
    }
    jpeg_finish_decompress(&info);
    if (handler.damaged) {
        snprintf(error, error_size, "its JPEG data is damaged (libjpeg-turbo: %s)", handler.message);
        free(pixels);
        jpeg_destroy_decompress(&info);
        return 2;
    }
    image->width = info.output_width;
    image->height = info.output_height;
    image->components = (uint32_t)info.output_components;
    image->pixels = pixels;
    jpeg_destroy_decompress(&info);
    return 0;
}

void dql_jpeg_free(dql_jpeg_image *image) {
    free(image->pixels);
    image->pixels = NULL;
}
