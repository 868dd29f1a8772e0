// dql-decode: decodes the compressed pixel data of DICOM files with GDCM, in a process of its
// own, so that a decoder that aborts or crashes on damaged data (Debian's GDCM keeps its
// assertions) takes down only this process, never dql. It serves one request after another
// (starting GDCM's libraries costs about 20 ms), until its input ends.
//
// Usage: dql-decode --serve   (standard input and output are one socket, or two pipes)
// A request: uint64 max_length, uint64 length, then `length` bytes of a DICOM file.
// An answer: uint64 length, then that many bytes: "OK\n", 8 uint32 (columns, rows, frames,
// samples per pixel, bits allocated, bits stored, pixel representation, planar configuration),
// 32 bytes of photometric interpretation, a uint64 length and the pixels; or "ERR\n" and a
// message. All numbers are little-endian.
#include "gdcm_decode.h"

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

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

/// Reads exactly `length` bytes: 1 when they were read, 0 at the end of the input before any,
/// -1 when the input ended part way or failed.
static int read_all(void *data, size_t length) {
    uint8_t *bytes = data;
    size_t done = 0;
    while (done < length) {
        ssize_t count = read(0, bytes + done, length - done);
        if (count == 0) return done == 0 ? 0 : -1;
        if (count < 0) return -1;
        done += (size_t)count;
    }
    return 1;
}

static int answer_error(const char *message) {
    uint64_t length = 4 + strlen(message);
    return write_all(&length, sizeof(length)) || write_all("ERR\n", 4) || write_all(message, strlen(message));
}

int main(int argc, char **argv) {
    // Ends with dql, however dql ends (a decode must not outlive the session that asked).
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() == 1) return 70;
    if (argc != 2 || strcmp(argv[1], "--serve") != 0) {
        fprintf(stderr, "usage: dql-decode --serve\n");
        return 64;
    }
    for (;;) {
        uint64_t request[2];
        int got = read_all(request, sizeof(request));
        if (got == 0) return 0;
        if (got < 0) return 74;
        size_t max_length = (size_t)request[0], length = (size_t)request[1];
        uint8_t *file = malloc(length == 0 ? 1 : length);
        if (file == NULL) return 70;
        if (read_all(file, length) < 0) return 74;
        dql_gdcm_image image;
        char error[512] = {0};
        int failed = dql_gdcm_decode(file, length, max_length, &image, error, sizeof(error));
        free(file);
        if (failed) {
            if (answer_error(error)) return 74;
            continue;
        }
        uint32_t fields[8] = {image.columns, image.rows, image.frames, image.samples_per_pixel,
                              image.bits_allocated, image.bits_stored, image.pixel_representation,
                              image.planar_configuration};
        uint64_t pixels = image.length;
        uint64_t total = 3 + sizeof(fields) + sizeof(image.photometric) + sizeof(pixels) + image.length;
        if (write_all(&total, sizeof(total)) || write_all("OK\n", 3) || write_all(fields, sizeof(fields)) ||
            write_all(image.photometric, sizeof(image.photometric)) || write_all(&pixels, sizeof(pixels)) ||
            write_all(image.pixels, image.length))
            return 74;
        dql_gdcm_free(&image);
    }
}
