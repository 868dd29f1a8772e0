#include "mapping_guard.h"

#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define SLOTS 256

struct guarded_range {
    _Atomic(uintptr_t) start; /* 0: free */
    _Atomic(uintptr_t) end;
    atomic_int cut;
};

static struct guarded_range ranges[SLOTS];
static atomic_int installed;
static struct sigaction previous;

static void on_sigbus(int signal, siginfo_t *info, void *context) {
    uintptr_t address = (uintptr_t)info->si_addr;
    for (int slot = 0; slot < SLOTS; slot++) {
        uintptr_t start = atomic_load(&ranges[slot].start);
        uintptr_t end = atomic_load(&ranges[slot].end);
        if (start != 0 && address >= start && address < end) {
            long page = sysconf(_SC_PAGESIZE);
            uintptr_t base = address & ~((uintptr_t)page - 1);
            /* mmap is async-signal-safe in practice (a system call); the faulting read is
               retried on return and now reads zeros. */
            if (mmap((void *)base, (size_t)page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0)
                != MAP_FAILED) {
                atomic_store(&ranges[slot].cut, 1);
                return;
            }
        }
    }
    /* Not ours: the default action (or the handler there was before). */
    sigaction(SIGBUS, &previous, NULL);
    raise(signal);
    (void)context;
}

static void install(void) {
    int expected = 0;
    if (!atomic_compare_exchange_strong(&installed, &expected, 1)) return;
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = on_sigbus;
    action.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&action.sa_mask);
    sigaction(SIGBUS, &action, &previous);
}

int dql_guard_mapping(const void *start, size_t length) {
    if (start == NULL || length == 0) return -1;
    install();
    for (int slot = 0; slot < SLOTS; slot++) {
        uintptr_t expected = 0;
        if (atomic_compare_exchange_strong(&ranges[slot].start, &expected, UINTPTR_MAX)) {
            atomic_store(&ranges[slot].cut, 0);
            atomic_store(&ranges[slot].end, (uintptr_t)start + length);
            atomic_store(&ranges[slot].start, (uintptr_t)start);
            return slot;
        }
    }
    return -1;
}

int dql_mapping_was_cut(int slot) {
    if (slot < 0 || slot >= SLOTS) return 0;
    return atomic_load(&ranges[slot].cut);
}

void dql_unguard_mapping(int slot) {
    if (slot < 0 || slot >= SLOTS) return;
    atomic_store(&ranges[slot].end, 0);
    atomic_store(&ranges[slot].start, 0);
}
