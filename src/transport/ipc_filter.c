/*
 * ipc_filter.c: ZMQ_IPC_FILTER_UID, _GID and _PID, see accept_filter.h.
 */
#include "platform/alloc.h"
#include "transport/accept_filter.h"

#include <errno.h>
#include <string.h>

/* ipc_id_size: the width of the option's value: uid_t, gid_t or pid_t. */
static size_t
ipc_id_size(enum ipc_filter_kind k)
{
	return k == IPC_FILTER_UID   ? sizeof(uid_t)
	       : k == IPC_FILTER_GID ? sizeof(gid_t)
	                             : sizeof(pid_t);
}

/* ipc_id_read: the value as a number (uid_t and gid_t unsigned, pid_t signed). */
static int64_t
ipc_id_read(enum ipc_filter_kind k, const void *val)
{
	if (k == IPC_FILTER_UID) {
		uid_t v;
		memcpy(&v, val, sizeof v);
		return (int64_t)v;
	}
	if (k == IPC_FILTER_GID) {
		gid_t v;
		memcpy(&v, val, sizeof v);
		return (int64_t)v;
	}
	pid_t v;
	memcpy(&v, val, sizeof v);
	return (int64_t)v;
}

static bool
ipc_has(const struct accept_filters *f, enum ipc_filter_kind k, int64_t id)
{
	for (uint32_t i = 0; i < f->ipc[k].n; i++)
		if (f->ipc[k].ids[i] == id)
			return true;
	return false;
}

int
ipc_filters_set(struct accept_filters *f, enum ipc_filter_kind k, const void *val,
                size_t len)
{
	if (!val && len == 0) {
		zn_free(f->ipc[k].ids);
		f->ipc[k].ids = NULL;
		f->ipc[k].n = 0;
		return 0;
	}
	if (!val || len != ipc_id_size(k))
		return -EINVAL;
	int64_t id = ipc_id_read(k, val);
	if (ipc_has(f, k, id))
		return 0; /* a set, as libzmq's */
	int64_t *ids = zn_realloc(f->ipc[k].ids, (f->ipc[k].n + 1) * sizeof *ids);
	if (!ids)
		return -ENOMEM;
	ids[f->ipc[k].n++] = id;
	f->ipc[k].ids = ids;
	return 0;
}

/* ipc_group_lists: some group of the gid set names the peer's user as a member. */
static bool
ipc_group_lists(const struct accept_filters *f, uid_t uid)
{
	for (uint32_t i = 0; i < f->ipc[IPC_FILTER_GID].n; i++)
		if (zn_user_in_group(uid, (gid_t)f->ipc[IPC_FILTER_GID].ids[i]) > 0)
			return true;
	return false;
}

bool
ipc_filters_allow(const struct accept_filters *f, int fd)
{
	if (!f->ipc[IPC_FILTER_UID].n && !f->ipc[IPC_FILTER_GID].n &&
	    !f->ipc[IPC_FILTER_PID].n)
		return true;
	uid_t uid;
	gid_t gid;
	pid_t pid;
	if (zn_peer_uid(fd, &uid, &gid, &pid) < 0)
		return false;
	return ipc_has(f, IPC_FILTER_UID, (int64_t)uid) ||
	       ipc_has(f, IPC_FILTER_GID, (int64_t)gid) || ipc_group_lists(f, uid) ||
	       ipc_has(f, IPC_FILTER_PID, (int64_t)pid);
}

int
ipc_filters_copy(struct accept_filters *dst, const struct accept_filters *src)
{
	for (int k = 0; k < IPC_FILTER_KINDS; k++) {
		uint32_t n = src->ipc[k].n;
		if (n == 0)
			continue;
		dst->ipc[k].ids = zn_malloc(n * sizeof(int64_t));
		if (!dst->ipc[k].ids) {
			ipc_filters_fini(dst);
			return -ENOMEM;
		}
		memcpy(dst->ipc[k].ids, src->ipc[k].ids, n * sizeof(int64_t));
		dst->ipc[k].n = n;
	}
	return 0;
}

void
ipc_filters_fini(struct accept_filters *f)
{
	for (int k = 0; k < IPC_FILTER_KINDS; k++) {
		zn_free(f->ipc[k].ids);
		f->ipc[k].ids = NULL;
		f->ipc[k].n = 0;
	}
}
