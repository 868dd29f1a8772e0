// dql-decode: decodes the compressed pixel data of one DICOM file with GDCM, in a process of
// its own, so that a decoder that aborts or crashes on damaged data (Debian's GDCM keeps its
// assertions) takes down only this process, never dql.
//
// Usage: dql-decode MAX_LENGTH < file.dcm
// Writes to stdout: "OK\n", then 8 little-endian uint32 (columns, rows, frames, samples per
// pixel, bits allocated, bits stored, pixel representation, planar configuration), 32 bytes
// of photometric interpretation, a uint64 length, and the pixels; or "ERR\n" and a message.
#include "gdcm_decode.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <signal.h>
#include <sys/prctl.h>

static int write_all(const void *data, size_t length) {
    const uint8_t *bytes = data;
    while (length > 0) {
        ssize_t written = write(1, bytes, length);
        if (written <= 0) return -1;
        bytes += written;
        length -= (size_t)written;
    }
    return 0;
}

int main(int argc, char **argv) {
    // Ends with dql, however dql ends (a decode must not outlive the statement that asked).
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() == 1) return 70;
    if (argc != 2) {
        fprintf(stderr, "usage: dql-decode MAX_LENGTH < file.dcm\n");
        return 64;
    }
    size_t max_length = (size_t)strtoull(argv[1], NULL, 10);
    size_t capacity = 1 << 20, length = 0;
    uint8_t *file = malloc(capacity);
    for (;;) {
        if (file == NULL) return 70;
        if (length == capacity) {
            capacity *= 2;
            file = realloc(file, capacity);
            if (file == NULL) return 70;
        }
        ssize_t count = read(0, file + length, capacity - length);
        if (count < 0) return 74;
        if (count == 0) break;
        length += (size_t)count;
    }
    dql_gdcm_image image;
    char error[512] = {0};
    if (dql_gdcm_decode(file, length, max_length, &image, error, sizeof(error)) != 0) {
        write_all("ERR\n", 4);
        write_all(error, strlen(error));
        return 0;
    }
    uint32_t fields[8] = {image.columns, image.rows, image.frames, image.samples_per_pixel,
                          image.bits_allocated, image.bits_stored, image.pixel_representation,
                          image.planar_configuration};
    uint64_t pixels = image.length;
    if (write_all("OK\n", 3) || write_all(fields, sizeof(fields)) ||
        write_all(image.photometric, sizeof(image.photometric)) || write_all(&pixels, sizeof(pixels)) ||
        write_all(image.pixels, image.length))
        return 74;
    dql_gdcm_free(&image);
    return 0;
}
