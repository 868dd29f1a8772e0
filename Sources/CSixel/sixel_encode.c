// Pictures as sixel escape sequences through libsixel, collected in memory.
#include "sixel_encode.h"

#include <sixel/sixel.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *data;
    size_t length;
    size_t capacity;
    int failed;
} collected;

static int collect(char *data, int size, void *user) {
    collected *into = user;
    if (into->failed || size <= 0) return 0;
    if (into->length + (size_t)size > into->capacity) {
        size_t capacity = into->capacity ? into->capacity * 2 : 1 << 16;
        while (capacity < into->length + (size_t)size) capacity *= 2;
        char *grown = realloc(into->data, capacity);
        if (grown == NULL) {
            into->failed = 1;
            return 0;
        }
        into->data = grown;
        into->capacity = capacity;
    }
    memcpy(into->data + into->length, data, (size_t)size);
    into->length += (size_t)size;
    return size;
}

int dql_sixel_encode(const uint8_t *rgb, int width, int height, char **text, size_t *length) {
    *text = NULL;
    *length = 0;
    collected into = {0};
    sixel_output_t *output = NULL;
    sixel_dither_t *dither = NULL;
    // libsixel takes the pixels as writable; they are not changed when it dithers a copy.
    size_t size = (size_t)width * (size_t)height * 3;
    unsigned char *pixels = malloc(size == 0 ? 1 : size);
    if (pixels == NULL) return 1;
    memcpy(pixels, rgb, size);
    int status = 1;
    if (SIXEL_FAILED(sixel_output_new(&output, collect, &into, NULL))) goto done;
    if (SIXEL_FAILED(sixel_dither_new(&dither, 256, NULL))) goto done;
    if (SIXEL_FAILED(sixel_dither_initialize(dither, pixels, width, height, SIXEL_PIXELFORMAT_RGB888,
                                             SIXEL_LARGE_AUTO, SIXEL_REP_AUTO, SIXEL_QUALITY_AUTO)))
        goto done;
    if (SIXEL_FAILED(sixel_encode(pixels, width, height, 3, dither, output)) || into.failed) goto done;
    *text = into.data;
    *length = into.length;
    into.data = NULL;
    status = 0;
done:
    if (dither) sixel_dither_unref(dither);
    if (output) sixel_output_unref(output);
    free(into.data);
    free(pixels);
    return status;
}
