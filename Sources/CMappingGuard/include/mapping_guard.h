#ifndef DQL_MAPPING_GUARD_H
#define DQL_MAPPING_GUARD_H

#include <stddef.h>

/// Guards a read-only file mapping against SIGBUS: when the file shrinks while it is mapped (it
/// is truncated, or rewritten by `cp`), a read of a page past its new end raises SIGBUS. For a
/// guarded range the handler maps a page of zeros there instead and marks the range, so the
/// read goes on and the caller learns afterwards that the file changed (and discards what it
/// read). Returns a slot for the other calls, or -1 when every slot is in use (the range is
/// then unguarded). Installs the handler on first use; SIGBUS outside guarded ranges keeps its
/// default action.
int dql_guard_mapping(const void *start, size_t length);

/// Whether a read in the slot's range met a page past the end of the file.
int dql_mapping_was_cut(int slot);

/// Frees the slot (call before unmapping the range).
void dql_unguard_mapping(int slot);

#endif
