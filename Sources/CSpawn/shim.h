// glibc's posix_spawn extension that closes every descriptor from a number up (glibc 2.34+).
// spawn.h declares it only under _GNU_SOURCE, which would change other system structs for
// this module alone; declaring the one function is enough.
#include <spawn.h>

extern int posix_spawn_file_actions_addclosefrom_np(posix_spawn_file_actions_t *actions, int from);
