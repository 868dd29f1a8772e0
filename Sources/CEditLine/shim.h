// libedit from Debian's libedit-dev, through its readline-compatible interface. Swift 6 does
// not allow touching libedit's mutable globals directly, so small accessors do it here.
#include <stdio.h>
#include <editline/readline.h>

static inline void dql_rl_set_name(const char *name) { rl_readline_name = name; }
static inline void dql_rl_set_catch_signals(int value) { rl_catch_signals = value; }
static inline void dql_rl_set_completion(char **(*function)(const char *, int, int)) {
    rl_attempted_completion_function = function;
}
static inline const char *dql_rl_line_buffer(void) { return rl_line_buffer; }
static inline void dql_rl_set_completion_over(int value) { rl_attempted_completion_over = value; }
static inline void dql_rl_set_append_character(int value) { rl_completion_append_character = value; }
static inline void dql_rl_set_getc(int (*function)(FILE *)) { rl_getc_function = function; }
