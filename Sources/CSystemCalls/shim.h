// glibc functions that Swift's Glibc module does not show, because their headers declare them
// only under feature macros (_GNU_SOURCE, _XOPEN_SOURCE) that would change other system types
// for this module alone. Declaring the few functions dql needs is enough; all are in libc.so.6
// (glibc 2.34 and later).
#include <malloc.h>
#include <spawn.h>
#include <termios.h>
#include <sys/ioctl.h>

/// Closes every descriptor from `from` up in the spawned child.
extern int posix_spawn_file_actions_addclosefrom_np(posix_spawn_file_actions_t *actions, int from);

/// Opens a pseudo-terminal pair (for driving the shell in tests).
extern int openpty(int *master, int *slave, char *name, const struct termios *termp, const struct winsize *winp);

/// Allocates a file's blocks (Linux fallocate(2); `mode` 0 also extends the size).
extern int fallocate(int fd, int mode, off_t offset, off_t len);
