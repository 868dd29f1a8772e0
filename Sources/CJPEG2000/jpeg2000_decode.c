// Decoding JPEG 2000 pixel data with OpenJPEG from memory: OpenJPEG reads through a stream
// whose callbacks read from the caller's buffer.
#include "jpeg2000_decode.h"

#include <openjpeg-2.5/openjpeg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const uint8_t *data;
    size_t length;
    size_t offset;
} source;

static OPJ_SIZE_T read_bytes(void *out, OPJ_SIZE_T count, void *user) {
    source *from = user;
    if (from->offset >= from->length) return (OPJ_SIZE_T)-1;
    size_t left = from->length - from->offset;
    size_t taken = count < left ? count : left;
    memcpy(out, from->data + from->offset, taken);
    from->offset += taken;
    return taken;
}

static OPJ_OFF_T skip_bytes(OPJ_OFF_T count, void *user) {
    source *from = user;
    if (count < 0) {
        if ((size_t)(-count) > from->offset) return -1;
        from->offset -= (size_t)(-count);
        return count;
    }
    size_t left = from->length - from->offset;
    size_t skipped = (size_t)count < left ? (size_t)count : left;
    from->offset += skipped;
    return (OPJ_OFF_T)skipped;
}

static OPJ_BOOL seek_to(OPJ_OFF_T position, void *user) {
    source *from = user;
    if (position < 0 || (size_t)position > from->length) return OPJ_FALSE;
    from->offset = (size_t)position;
    return OPJ_TRUE;
}

static void quiet(const char *message, void *user) {
    (void)message;
    (void)user;
}

static void keep_error(const char *message, void *user) {
    char *error = user;
    if (error[0] == 0) {
        snprintf(error, 256, "%s", message);
        size_t end = strlen(error);
        while (end > 0 && (error[end - 1] == '\n' || error[end - 1] == '\r')) error[--end] = 0;
    }
}

int dql_jpeg2000_decode(const uint8_t *data, size_t length, uint32_t expected_width, uint32_t expected_height,
                        uint32_t expected_components, dql_jpeg2000_image *image, char *error, size_t error_size) {
    memset(image, 0, sizeof(*image));
    char message[256] = {0};
    if (length < 12) {
        snprintf(error, error_size, "%zu bytes is too short for JPEG 2000", length);
        return 1;
    }
    // A bare codestream starts with SOC SIZ (FF 4F FF 51); a JP2 file with its signature box.
    OPJ_CODEC_FORMAT format = (data[0] == 0xFF && data[1] == 0x4F) ? OPJ_CODEC_J2K : OPJ_CODEC_JP2;
    opj_codec_t *codec = opj_create_decompress(format);
    opj_set_info_handler(codec, quiet, NULL);
    opj_set_warning_handler(codec, quiet, NULL);
    opj_set_error_handler(codec, keep_error, message);
    opj_dparameters_t parameters;
    opj_set_default_decoder_parameters(&parameters);
    source from = {data, length, 0};
    opj_stream_t *stream = opj_stream_create(1 << 16, OPJ_TRUE);
    opj_stream_set_user_data(stream, &from, NULL);
    opj_stream_set_user_data_length(stream, length);
    opj_stream_set_read_function(stream, read_bytes);
    opj_stream_set_skip_function(stream, skip_bytes);
    opj_stream_set_seek_function(stream, seek_to);
    opj_image_t *decoded = NULL;
    int status = 1;
    // Code-blocks decoded on every core.
    if (!opj_setup_decoder(codec, &parameters) || !opj_codec_set_threads(codec, opj_get_num_cpus()) ||
        !opj_read_header(stream, codec, &decoded)) {
        snprintf(error, error_size, "OpenJPEG could not read its header: %s", message[0] ? message : "no reason given");
        goto done;
    }
    if (decoded->x1 - decoded->x0 != expected_width || decoded->y1 - decoded->y0 != expected_height ||
        decoded->numcomps != expected_components) {
        snprintf(error, error_size, "the codestream is %u×%u with %u component%s; the header says %u×%u with %u",
                 decoded->x1 - decoded->x0, decoded->y1 - decoded->y0, decoded->numcomps,
                 decoded->numcomps == 1 ? "" : "s", expected_width, expected_height, expected_components);
        goto done;
    }
    if (!opj_decode(codec, stream, decoded) || !opj_end_decompress(codec, stream)) {
        snprintf(error, error_size, "OpenJPEG could not decode it: %s", message[0] ? message : "no reason given");
        goto done;
    }
    if (decoded->numcomps == 0 || decoded->numcomps > 4) {
        snprintf(error, error_size, "%u components", decoded->numcomps);
        goto done;
    }
    uint32_t width = decoded->comps[0].w, height = decoded->comps[0].h;
    for (uint32_t c = 1; c < decoded->numcomps; c++) {
        if (decoded->comps[c].w != width || decoded->comps[c].h != height) {
            snprintf(error, error_size, "its components are subsampled, which dql does not show yet");
            goto done;
        }
    }
    size_t count = (size_t)width * height * decoded->numcomps;
    image->samples = malloc(count * sizeof(int32_t));
    if (!image->samples) {
        snprintf(error, error_size, "no memory for %zu samples", count);
        goto done;
    }
    for (size_t pixel = 0; pixel < (size_t)width * height; pixel++) {
        for (uint32_t c = 0; c < decoded->numcomps; c++) {
            image->samples[pixel * decoded->numcomps + c] = decoded->comps[c].data[pixel];
        }
    }
    image->width = width;
    image->height = height;
    image->components = decoded->numcomps;
    image->precision = decoded->comps[0].prec;
    image->is_signed = decoded->comps[0].sgnd;
    status = 0;
done:
    if (decoded) opj_image_destroy(decoded);
    opj_stream_destroy(stream);
    opj_destroy_codec(codec);
    return status;
}

void dql_jpeg2000_free(dql_jpeg2000_image *image) {
    free(image->samples);
    image->samples = NULL;
}
