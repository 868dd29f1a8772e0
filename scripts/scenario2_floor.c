/*
 * The floor of the demo's scenario 2 on this machine, for `dql-bench scenarios`: what dql's
 * `find where protocol = '194' and year = 2019 fetch to DIR` must do at the least, in C with
 * hiredis and nothing else. The same FT.SEARCH dql sends (found with MONITOR), then a GET per
 * chunk, the bytes written into an anonymous file (O_TMPFILE), their XXH3-64 compared with the
 * one the document recorded, and the file linked under its name. Between runs, untimed, the file
 * is removed and scenario 3's FT.AGGREGATE is sent, as the benchmark's dql loop does. Prints one
 * line of JSON: the seconds of each timed run (the first run warms up and is not counted).
 *
 * usage: scenario2_floor HOST PORT INDEX PREFIX DIRECTORY RUNS
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

static void fail(const char *what, const char *detail) {
    fprintf(stderr, "scenario2_floor: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    exit(1);
}

static double now(void) {
    struct timespec time;
    clock_gettime(CLOCK_MONOTONIC, &time);
    return (double)time.tv_sec + (double)time.tv_nsec / 1e9;
}

/* The string value of `field` in a search row's field/value array, or NULL. */
static const redisReply *field(const redisReply *fields, const char *name) {
    for (size_t index = 0; index + 1 < fields->elements; index += 2) {
        const redisReply *key = fields->element[index];
        if (key->type == REDIS_REPLY_STRING && strcmp(key->str, name) == 0) return fields->element[index + 1];
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 7) fail("usage: scenario2_floor HOST PORT INDEX PREFIX DIRECTORY RUNS", NULL);
    const char *index = argv[3], *prefix = argv[4], *directory = argv[5];
    int runs = atoi(argv[6]);
    /* Memory is reused from run to run, as dql reuses its receive buffers: no mapping, page
       faults and unmapping of each 138 KB reply (glibc maps blocks over 128 KiB by default). */
    mallopt(M_MMAP_THRESHOLD, 64 << 20);
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
    redisContext *context = redisConnect(argv[1], atoi(argv[2]));
    if (context == NULL || context->err) fail("cannot connect", context ? context->errstr : NULL);
    context->reader->maxbuf = 0;
    const char *search[] = {
        "FT.SEARCH", index, "(@protocol:{$p0} @studyYear:[$p1 $p2])", "RETURN", "9", "name", "patient",
        "modality", "protocol", "studyDate", "size", "sha256", "$.chunkSize", "$.xxh3", "LIMIT", "0", "1000",
        "TIMEOUT", "10000", "PARAMS", "6", "p0", "194", "p1", "2019", "p2", "2019", "DIALECT", "2"};
    int searchCount = (int)(sizeof search / sizeof search[0]);
    /* Scenario 3, untimed, between runs: the benchmark's dql loop runs it there too. */
    const char *count[] = {"FT.AGGREGATE", index, "*", "TIMEOUT", "10000", "GROUPBY", "1", "@protocol", "REDUCE",
        "COUNT", "0", "AS", "count", "SORTBY", "4", "@count", "DESC", "@protocol", "ASC", "MAX", "1000", "LIMIT", "0",
        "1000", "DIALECT", "2"};
    int countCount = (int)(sizeof count / sizeof count[0]);
    printf("[");
    for (int run = -1; run < runs; run++) {
        double started = now();
        redisReply *found = redisCommandArgv(context, searchCount, search, NULL);
        if (found == NULL || found->type != REDIS_REPLY_ARRAY || found->elements != 3)
            fail("the search did not find exactly one file", found && found->type == REDIS_REPLY_ERROR ? found->str : NULL);
        const redisReply *fields = found->element[2];
        const redisReply *name = field(fields, "name"), *sha = field(fields, "sha256"), *size = field(fields, "size"),
                         *chunkSize = field(fields, "$.chunkSize"), *xxh3 = field(fields, "$.xxh3");
        if (!name || !sha || !size || !chunkSize || !xxh3) fail("a search row lacks a field", NULL);
        long long bytes = atoll(size->str), chunk = atoll(chunkSize->str);
        char *contents = malloc((size_t)bytes);
        if (contents == NULL) fail("out of memory", NULL);
        long long chunks = (bytes + chunk - 1) / chunk;
        char key[512];
        for (long long part = 0; part < chunks; part++) {
            snprintf(key, sizeof key, "%s:chunk:%s:%lld", prefix, sha->str, part);
            redisAppendCommand(context, "GET %s", key);
        }
        long long filled = 0;
        for (long long part = 0; part < chunks; part++) {
            redisReply *reply = NULL;
            if (redisGetReply(context, (void **)&reply) != REDIS_OK || reply->type != REDIS_REPLY_STRING)
                fail("a chunk is missing", key);
            memcpy(contents + filled, reply->str, reply->len);
            filled += (long long)reply->len;
            freeReplyObject(reply);
        }
        if (filled != bytes) fail("the chunks do not add up to the size", NULL);
        int descriptor = open(directory, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
        if (descriptor < 0) fail("cannot open an anonymous file", strerror(errno));
        if (write(descriptor, contents, (size_t)bytes) != bytes) fail("cannot write", strerror(errno));
        if (XXH3_64bits(contents, (size_t)bytes) != strtoull(xxh3->str + (xxh3->str[0] == '"'), NULL, 16))
            fail("the bytes do not match the recorded XXH3", NULL);
        char procPath[64], target[4096];
        snprintf(procPath, sizeof procPath, "/proc/self/fd/%d", descriptor);
        snprintf(target, sizeof target, "%s/%s", directory, name->str);
        if (linkat(AT_FDCWD, procPath, AT_FDCWD, target, AT_SYMLINK_FOLLOW) != 0) fail("cannot link", strerror(errno));
        close(descriptor);
        double elapsed = now() - started;
        unlink(target);
        free(contents);
        freeReplyObject(found);
        redisReply *counted = redisCommandArgv(context, countCount, count, NULL);
        if (counted == NULL || counted->type != REDIS_REPLY_ARRAY) fail("the count failed", NULL);
        freeReplyObject(counted);
        if (run >= 0) printf("%s%.9f", run > 0 ? "," : "", elapsed);
    }
    printf("]\n");
    redisFree(context);
    return 0;
}
