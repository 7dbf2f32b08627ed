/*
 * test_msg.c: messages through the public zmq_msg_* API and the msg layer beneath it:
 * inline, heap and user-buffer storage, sharing by copy, move, flags, properties,
 * metadata, allocation failure and the EFAULT checks. Leaks and double frees show up
 * under ASan and valgrind, which is how the refcount tests prove their point.
 */
#include <pthread.h>
#include <stdint.h>

#include "testutil.h"
#include "zmq.h"
#include "pipe/msg.h"
#include "platform/alloc.h"

struct free_log {
	int calls;
	void *data;
	void *hint;
};

/* log_free: a zmq_free_fn that frees nothing and records its calls in the hint. */
static void
log_free(void *data, void *hint)
{
	struct free_log *log = hint;
	log->calls++;
	log->data = data;
	log->hint = hint;
}

/* heap_free: a zmq_free_fn that frees a malloc'd buffer and counts in the hint. */
static void
heap_free(void *data, void *hint)
{
	free(data);
	++*(int *)hint;
}

static int
points_into(const void *p, const zmq_msg_t *m)
{
	const unsigned char *b = (const unsigned char *)m;
	return (const unsigned char *)p >= b && (const unsigned char *)p < b + sizeof(*m);
}

static void
test_inline_needs_no_allocation(void)
{
	zmq_msg_t m;
	zn_alloc_fail_after(1, 1);
	int rc = zmq_msg_init_size(&m, MSG_INLINE_MAX);
	long failures = zn_alloc_failures();
	zn_alloc_fail_after(0, 0);
	CHECK_EQ(rc, 0);
	CHECK_EQ(failures, 0);
	CHECK_EQ(zmq_msg_size(&m), MSG_INLINE_MAX);
	CHECK(points_into(zmq_msg_data(&m), &m));
	memset(zmq_msg_data(&m), 'x', MSG_INLINE_MAX);
	CHECK_EQ(zmq_msg_get(&m, ZMQ_SHARED), 0);
	CHECK_OK(zmq_msg_close(&m));
}

/* msg_narrow keeps a slice without copying a heap message (CURVE opens boxes in place
 * and narrows to the data), moves an inline one's bytes, and refuses shared data and
 * ranges outside it. */
static void
test_narrow(void)
{
	struct msg in, heap, copy;
	CHECK_EQ(msg_init_buffer(&in, "0123456789", 10), 0);
	CHECK_EQ(msg_narrow(&in, 3, 4), 0);
	CHECK_EQ(msg_size(&in), 4);
	CHECK(memcmp(msg_data(&in), "3456", 4) == 0);
	CHECK_EQ(msg_narrow(&in, 1, 4), -EINVAL);
	msg_close(&in);
	char big[200];
	for (size_t i = 0; i < sizeof big; i++)
		big[i] = (char)i;
	CHECK_EQ(msg_init_buffer(&heap, big, sizeof big), 0);
	char *before = msg_data(&heap);
	CHECK_EQ(msg_narrow(&heap, 17, 100), 0);
	CHECK(msg_data(&heap) == before + 17); /* the same bytes, not a copy */
	CHECK_EQ(msg_size(&heap), 100);
	CHECK(memcmp(msg_data(&heap), big + 17, 100) == 0);
	msg_init(&copy);
	msg_copy(&copy, &heap);
	CHECK_EQ(msg_narrow(&heap, 0, 1), -EINVAL); /* shared now */
	msg_close(&copy);
	CHECK_EQ(msg_narrow(&heap, 100, 0), 0);
	CHECK_EQ(msg_size(&heap), 0);
	msg_close(&heap); /* frees the block although data moved: ASan / valgrind */
}

static void
test_heap_is_one_allocation(void)
{
	zmq_msg_t m;
	/* The second allocation from now fails: one allocation gets through. */
	zn_alloc_fail_after(2, 1);
	int rc = zmq_msg_init_size(&m, 1000);
	long failures = zn_alloc_failures();
	zn_alloc_fail_after(0, 0);
	CHECK_EQ(rc, 0);
	CHECK_EQ(failures, 0);
	CHECK_EQ(zmq_msg_size(&m), 1000);
	CHECK(!points_into(zmq_msg_data(&m), &m));
	CHECK_EQ((uintptr_t)zmq_msg_data(&m) % 8, 0);
	memset(zmq_msg_data(&m), 'y', 1000);
	CHECK_EQ(zmq_msg_get(&m, ZMQ_SHARED), 0);
	CHECK_OK(zmq_msg_close(&m));
}

static void
test_heap_enomem_leaves_empty_message(void)
{
	zmq_msg_t m;
	zn_alloc_fail_after(1, 1);
	errno = 0;
	int rc = zmq_msg_init_size(&m, MSG_INLINE_MAX + 1);
	int err = errno;
	zn_alloc_fail_after(0, 0);
	CHECK_EQ(rc, -1);
	CHECK_EQ(err, ENOMEM);
	CHECK_EQ(zmq_msg_size(&m), 0);
	CHECK_EQ(zmq_msg_more(&m), 0);
	CHECK_OK(zmq_msg_close(&m));
}

static void
test_huge_size_is_enomem(void)
{
	zmq_msg_t m;
	CHECK_ERR(zmq_msg_init_size(&m, SIZE_MAX), ENOMEM);
	CHECK_EQ(zmq_msg_size(&m), 0);
	CHECK_OK(zmq_msg_close(&m));
}

static void
test_user_buffer_freed_once_after_last_copy(void)
{
	static char buf[100];
	struct free_log log = {0};
	zmq_msg_t m, c1, c2;
	CHECK_OK(zmq_msg_init_data(&m, buf, sizeof(buf), log_free, &log));
	CHECK(zmq_msg_data(&m) == buf);
	CHECK_EQ(zmq_msg_size(&m), sizeof(buf));
	CHECK_EQ(zmq_msg_get(&m, ZMQ_SHARED), 0);
	CHECK_OK(zmq_msg_init(&c1));
	CHECK_OK(zmq_msg_init(&c2));
	CHECK_OK(zmq_msg_copy(&c1, &m));
	CHECK_OK(zmq_msg_copy(&c2, &c1));
	CHECK(zmq_msg_data(&c2) == buf);
	CHECK_EQ(zmq_msg_get(&m, ZMQ_SHARED), 1);
	CHECK_OK(zmq_msg_close(&m));
	CHECK_OK(zmq_msg_close(&c1));
	CHECK_EQ(log.calls, 0);
	CHECK_OK(zmq_msg_close(&c2));
	CHECK_EQ(log.calls, 1);
	CHECK(log.data == buf);
	CHECK(log.hint == &log);
}

static void
test_user_buffer_enomem_keeps_buffer(void)
{
	struct free_log log = {0};
	char buf[200];
	zmq_msg_t m;
	zn_alloc_fail_after(1, 1);
	errno = 0;
	int rc = zmq_msg_init_data(&m, buf, sizeof(buf), log_free, &log);
	int err = errno;
	zn_alloc_fail_after(0, 0);
	CHECK_EQ(rc, -1);
	CHECK_EQ(err, ENOMEM);
	CHECK_EQ(log.calls, 0);
	CHECK_EQ(zmq_msg_size(&m), 0);
	CHECK_OK(zmq_msg_close(&m));
	CHECK_EQ(log.calls, 0);
}

static void
test_user_buffer_malloced_is_released(void)
{
	int calls = 0;
	char *buf = malloc(4096);
	CHECK(buf != NULL);
	zmq_msg_t m;
	CHECK_OK(zmq_msg_init_data(&m, buf, 4096, heap_free, &calls));
	CHECK_OK(zmq_msg_close(&m));
	CHECK_EQ(calls, 1);
}

static void
test_empty_user_buffer_still_calls_free_fn(void)
{
	struct free_log log = {0};
	zmq_msg_t m;
	CHECK_OK(zmq_msg_init_data(&m, NULL, 0, log_free, &log));
	CHECK_EQ(zmq_msg_size(&m), 0);
	CHECK_OK(zmq_msg_close(&m));
	CHECK_EQ(log.calls, 1);
	CHECK(log.data == NULL);
}

static void
test_const_data_is_never_freed(void)
{
	static const char text[] = "constant payload, longer than the inline capacity!";
	zmq_msg_t m, c;
	zn_alloc_fail_after(1, 1); /* a constant message allocates nothing */
	int rc = zmq_msg_init_data(&m, (void *)text, sizeof(text), NULL, NULL);
	zn_alloc_fail_after(0, 0);
	CHECK_EQ(rc, 0);
	CHECK(zmq_msg_data(&m) == text);
	CHECK_EQ(zmq_msg_size(&m), sizeof(text));
	CHECK_EQ(zmq_msg_get(&m, ZMQ_SHARED), 1);
	CHECK_OK(zmq_msg_init(&c));
	CHECK_OK(zmq_msg_copy(&c, &m));
	CHECK(zmq_msg_data(&c) == text);
	CHECK_OK(zmq_msg_close(&m));
	CHECK_OK(zmq_msg_close(&c));
	CHECK_STR(text, "constant payload, longer than the inline capacity!");
}

static void
test_null_data_with_size_is_einval(void)
{
	zmq_msg_t m;
	CHECK_ERR(zmq_msg_init_data(&m, NULL, 10, NULL, NULL), EINVAL);
	CHECK_OK(zmq_msg_close(&m));
}

static void
test_copy_shares_heap_data(void)
{
	zmq_msg_t m, c;
	CHECK_OK(zmq_msg_init_size(&m, 1000));
	memset(zmq_msg_data(&m), 'z', 1000);
	CHECK_OK(zmq_msg_init(&c));
	zn_alloc_fail_after(1, 1); /* sharing allocates nothing */
	int rc = zmq_msg_copy(&c, &m);
	zn_alloc_fail_after(0, 0);
	CHECK_EQ(rc, 0);
	CHECK(zmq_msg_data(&c) == zmq_msg_data(&m));
	CHECK_EQ(zmq_msg_size(&c), 1000);
	CHECK_EQ(zmq_msg_get(&m, ZMQ_SHARED), 1);
	CHECK_EQ(zmq_msg_get(&c, ZMQ_SHARED), 1);
	CHECK_OK(zmq_msg_close(&m));
	CHECK_EQ(zmq_msg_get(&c, ZMQ_SHARED), 0);
	CHECK_EQ(((char *)zmq_msg_data(&c))[999], 'z');
	CHECK_OK(zmq_msg_close(&c));
}

static void
test_copy_of_inline_is_by_value(void)
{
	zmq_msg_t m, c;
	CHECK_OK(zmq_msg_init_size(&m, 5));
	memcpy(zmq_msg_data(&m), "hello", 5);
	CHECK_OK(zmq_msg_init(&c));
	CHECK_OK(zmq_msg_copy(&c, &m));
	CHECK(zmq_msg_data(&c) != zmq_msg_data(&m));
	CHECK_EQ(zmq_msg_size(&c), 5);
	CHECK(memcmp(zmq_msg_data(&c), "hello", 5) == 0);
	CHECK_EQ(zmq_msg_get(&c, ZMQ_SHARED), 0);
	CHECK_OK(zmq_msg_close(&m));
	CHECK_OK(zmq_msg_close(&c));
}

static void
test_copy_releases_destination(void)
{
	struct free_log log = {0};
	char buf[64];
	zmq_msg_t d, s;
	CHECK_OK(zmq_msg_init_data(&d, buf, sizeof(buf), log_free, &log));
	CHECK_OK(zmq_msg_init_size(&s, 3));
	CHECK_OK(zmq_msg_copy(&d, &s));
	CHECK_EQ(log.calls, 1);
	CHECK_EQ(zmq_msg_size(&d), 3);
	CHECK_OK(zmq_msg_close(&d));
	CHECK_OK(zmq_msg_close(&s));
}

static void
test_move_empties_source(void)
{
	struct free_log log = {0};
	char buf[64];
	zmq_msg_t d, s;
	CHECK_OK(zmq_msg_init_data(&d, buf, sizeof(buf), log_free, &log));
	CHECK_OK(zmq_msg_init_size(&s, 500));
	void *data = zmq_msg_data(&s);
	msg_set_flags(msg_from_zmq(&s), MSGF_MORE);
	CHECK_OK(zmq_msg_move(&d, &s));
	CHECK_EQ(log.calls, 1); /* the destination's old content went */
	CHECK(zmq_msg_data(&d) == data);
	CHECK_EQ(zmq_msg_size(&d), 500);
	CHECK_EQ(zmq_msg_more(&d), 1);
	CHECK_EQ(zmq_msg_size(&s), 0);
	CHECK_EQ(zmq_msg_more(&s), 0);
	CHECK_EQ(zmq_msg_get(&d, ZMQ_SHARED), 0);
	CHECK_OK(zmq_msg_close(&s));
	CHECK_OK(zmq_msg_close(&d));
}

static void
test_move_and_copy_onto_itself(void)
{
	zmq_msg_t m;
	CHECK_OK(zmq_msg_init_size(&m, 300));
	void *data = zmq_msg_data(&m);
	CHECK_OK(zmq_msg_copy(&m, &m));
	CHECK_OK(zmq_msg_move(&m, &m));
	CHECK(zmq_msg_data(&m) == data);
	CHECK_EQ(zmq_msg_size(&m), 300);
	CHECK_EQ(zmq_msg_get(&m, ZMQ_SHARED), 0);
	CHECK_OK(zmq_msg_close(&m));
}

static void
test_more_flag_and_properties(void)
{
	zmq_msg_t m, c;
	CHECK_OK(zmq_msg_init(&m));
	CHECK_EQ(zmq_msg_more(&m), 0);
	CHECK_EQ(zmq_msg_get(&m, ZMQ_MORE), 0);
	msg_set_flags(msg_from_zmq(&m), MSGF_MORE);
	CHECK_EQ(zmq_msg_more(&m), 1);
	CHECK_EQ(zmq_msg_get(&m, ZMQ_MORE), 1);
	CHECK_OK(zmq_msg_init(&c));
	CHECK_OK(zmq_msg_copy(&c, &m));
	CHECK_EQ(zmq_msg_more(&c), 1);
	msg_clear_flags(msg_from_zmq(&m), MSGF_MORE);
	CHECK_EQ(zmq_msg_more(&m), 0);
	CHECK_ERR(zmq_msg_get(&m, 12345), EINVAL);
	CHECK_ERR(zmq_msg_get(&m, ZMQ_SRCFD), EINVAL);
	CHECK_ERR(zmq_msg_set(&m, ZMQ_MORE, 1), EINVAL);
	CHECK_ERR(zmq_msg_set(&m, ZMQ_SHARED, 1), EINVAL);
	CHECK_ERR(zmq_msg_set(&m, 12345, 0), EINVAL);
	CHECK_OK(zmq_msg_close(&m));
	CHECK_OK(zmq_msg_close(&c));
}

static void
test_empty_message_basics(void)
{
	zmq_msg_t m;
	CHECK_OK(zmq_msg_init(&m));
	CHECK_EQ(zmq_msg_size(&m), 0);
	CHECK(zmq_msg_data(&m) != NULL);
	CHECK_OK(zmq_msg_close(&m));

	zmq_msg_t z;
	memset(&z, 0, sizeof(z)); /* all-zero memory is an empty message */
	CHECK_EQ(zmq_msg_size(&z), 0);
	CHECK_OK(zmq_msg_close(&z));

	CHECK_OK(zmq_msg_init_size(&m, 0));
	CHECK_EQ(zmq_msg_size(&m), 0);
	CHECK_OK(zmq_msg_close(&m));
}

static void
test_metadata_lookup_ignores_case(void)
{
	struct metadata *md = metadata_new(3);
	CHECK(md != NULL);
	CHECK_EQ(metadata_add(md, "Socket-Type", "DEALER", 6), 0);
	CHECK_EQ(metadata_add(md, "Routing-Id", "peer1xyz", 5), 0);
	CHECK_EQ(metadata_add(md, "X-Empty", "", 0), 0);
	CHECK_EQ(metadata_add(md, "X-Full", "v", 1), -ENOSPC);

	zmq_msg_t m, c;
	CHECK_OK(zmq_msg_init_size(&m, 100));
	msg_set_metadata(msg_from_zmq(&m), md);
	metadata_rele(md); /* the maker's reference: the message now holds the only one */

	CHECK_STR(zmq_msg_gets(&m, "Socket-Type"), "DEALER");
	CHECK_STR(zmq_msg_gets(&m, "socket-type"), "DEALER");
	CHECK_STR(zmq_msg_gets(&m, "SOCKET-TYPE"), "DEALER");
	CHECK_STR(zmq_msg_gets(&m, "routing-id"), "peer1");
	CHECK_STR(zmq_msg_gets(&m, "Identity"), "peer1");
	CHECK_STR(zmq_msg_gets(&m, "x-empty"), "");
	CHECK(zmq_msg_gets(&m, "Socket-Typ") == NULL);
	CHECK_EQ(errno, EINVAL);
	CHECK(zmq_msg_gets(&m, "Peer-Address") == NULL);
	CHECK_EQ(errno, EINVAL);
	errno = 0;
	CHECK(zmq_msg_gets(&m, NULL) == NULL);
	CHECK_EQ(errno, EINVAL);

	/* A copy takes a reference of its own; closing the original keeps it alive. */
	CHECK_OK(zmq_msg_init(&c));
	CHECK_OK(zmq_msg_copy(&c, &m));
	CHECK_OK(zmq_msg_close(&m));
	CHECK_STR(zmq_msg_gets(&c, "Socket-Type"), "DEALER");

	/* A move hands the reference over. */
	CHECK_OK(zmq_msg_init(&m));
	CHECK_OK(zmq_msg_move(&m, &c));
	errno = 0;
	CHECK(zmq_msg_gets(&c, "Socket-Type") == NULL);
	CHECK_EQ(errno, EINVAL);
	CHECK_STR(zmq_msg_gets(&m, "Socket-Type"), "DEALER");
	CHECK_OK(zmq_msg_close(&c));
	CHECK_OK(zmq_msg_close(&m)); /* the last reference: ASan would report a leak */
}

static void
test_metadata_replace_and_srcfd(void)
{
	struct metadata *a = metadata_new(1), *b = metadata_new(1);
	CHECK(a != NULL && b != NULL);
	CHECK_EQ(metadata_add(a, "User-Id", "alice", 5), 0);
	/* A property a peer could announce does not count: only the engine's record. */
	CHECK_EQ(metadata_add(b, "__fd", "9", 1), 0);
	metadata_set_fd(b, 7);
	zmq_msg_t m;
	CHECK_OK(zmq_msg_init(&m));
	msg_set_metadata(msg_from_zmq(&m), a);
	msg_set_metadata(msg_from_zmq(&m), a); /* the same list again: no change */
	CHECK_STR(zmq_msg_gets(&m, "user-id"), "alice");
	msg_set_metadata(msg_from_zmq(&m), b);
	CHECK(zmq_msg_gets(&m, "User-Id") == NULL);
	CHECK_EQ(zmq_msg_get(&m, ZMQ_SRCFD), 7);
	metadata_rele(a);
	metadata_rele(b);
	msg_set_metadata(msg_from_zmq(&m), NULL);
	CHECK_ERR(zmq_msg_get(&m, ZMQ_SRCFD), EINVAL);
	CHECK_OK(zmq_msg_close(&m));
}

/* An engine's reference batch (metadata_batch): 600 messages take references 256 at a
 * time; after the batch ends and the maker lets go, the messages alone keep the list
 * alive, and the last close frees it (a miscount is a leak or a use after free under
 * valgrind and ASan). */
static void
test_metadata_batch(void)
{
	enum { N = 600 };
	struct metadata *md = metadata_new(1);
	CHECK(md != NULL);
	CHECK_EQ(metadata_add(md, "User-Id", "alice", 5), 0);
	struct metadata_batch b = {md, 0};
	static zmq_msg_t m[N];
	for (int i = 0; i < N; i++) {
		CHECK_OK(zmq_msg_init(&m[i]));
		metadata_batch_attach(&b, msg_from_zmq(&m[i]));
	}
	CHECK_EQ(b.ahead, 3 * 256 - N);
	metadata_batch_end(&b);
	CHECK_EQ(b.ahead, 0);
	metadata_rele(md); /* the maker's own reference */
	for (int i = 0; i < N; i++) {
		CHECK_STR(zmq_msg_gets(&m[i], "user-id"), "alice");
		CHECK_OK(zmq_msg_close(&m[i]));
	}
	/* A batch without a list attaches nothing. */
	struct metadata_batch none = {NULL, 0};
	zmq_msg_t e;
	CHECK_OK(zmq_msg_init(&e));
	metadata_batch_attach(&none, msg_from_zmq(&e));
	CHECK(zmq_msg_gets(&e, "User-Id") == NULL);
	CHECK_OK(zmq_msg_close(&e));
}

/* msg_hold then msg_share, as a PUB's fan-out does: the user's buffer and the
 * properties outlive every copy but the last, whatever the order of the closes. */
static void
test_hold_and_share(void)
{
	enum { N = 5 };
	struct free_log log = {0, NULL, NULL};
	static char buf[100];
	zmq_msg_t m;
	CHECK_OK(zmq_msg_init_data(&m, buf, sizeof buf, log_free, &log));
	struct metadata *md = metadata_new(1);
	CHECK(md != NULL);
	CHECK_EQ(metadata_add(md, "User-Id", "bob", 3), 0);
	msg_set_metadata(msg_from_zmq(&m), md);
	metadata_rele(md); /* the message holds it now */
	zmq_msg_t c[N];
	msg_hold(msg_from_zmq(&m), N);
	for (int i = 0; i < N; i++) {
		msg_init(msg_from_zmq(&c[i]));
		msg_share(msg_from_zmq(&c[i]), msg_from_zmq(&m));
	}
	CHECK_OK(zmq_msg_close(&m));
	for (int i = 0; i < N; i++) {
		CHECK_EQ(log.calls, 0);
		CHECK(zmq_msg_data(&c[i]) == buf);
		CHECK_STR(zmq_msg_gets(&c[i], "user-id"), "bob");
		CHECK_OK(zmq_msg_close(&c[i]));
	}
	CHECK_EQ(log.calls, 1);
	/* Holding none changes nothing. */
	CHECK_OK(zmq_msg_init_size(&m, 100));
	msg_hold(msg_from_zmq(&m), 0);
	CHECK_OK(zmq_msg_close(&m));
}

static void
test_metadata_enomem(void)
{
	zn_alloc_fail_after(1, 1);
	struct metadata *none = metadata_new(2);
	zn_alloc_fail_after(0, 0);
	CHECK(none == NULL);

	struct metadata *md = metadata_new(2);
	CHECK(md != NULL);
	zn_alloc_fail_after(1, 1);
	int rc = metadata_add(md, "Socket-Type", "PUB", 3);
	zn_alloc_fail_after(0, 0);
	CHECK_EQ(rc, -ENOMEM);
	CHECK(metadata_get(md, "Socket-Type") == NULL);
	CHECK_EQ(metadata_add(md, "Socket-Type", "PUB", 3), 0);
	CHECK_STR(metadata_get(md, "socket-TYPE"), "PUB");
	CHECK(metadata_get(NULL, "Socket-Type") == NULL);
	metadata_rele(md);
}

static void
test_internal_buffer_and_delimiter(void)
{
	char big[300];
	memset(big, 'q', sizeof(big));
	struct msg m;
	CHECK_EQ(msg_init_buffer(&m, big, sizeof(big)), 0);
	CHECK_EQ(msg_size(&m), sizeof(big));
	CHECK(memcmp(msg_data(&m), big, sizeof(big)) == 0);
	msg_close(&m);
	CHECK(!msg_is_valid(&m));
	msg_close(&m); /* a second close inside the library is harmless */

	zn_alloc_fail_after(1, 1);
	int rc = msg_init_buffer(&m, big, sizeof(big));
	zn_alloc_fail_after(0, 0);
	CHECK_EQ(rc, -ENOMEM);
	CHECK_EQ(msg_size(&m), 0);
	msg_close(&m);

	CHECK_EQ(msg_init_buffer(&m, NULL, 0), 0);
	CHECK_EQ(msg_size(&m), 0);
	msg_close(&m);

	msg_init_delimiter(&m);
	CHECK(msg_is_delimiter(&m));
	CHECK(msg_is_valid(&m));
	CHECK_EQ(msg_size(&m), 0);
	msg_close(&m);
	CHECK(!msg_is_delimiter(&m));
}

static void
test_efault_cases(void)
{
	zmq_msg_t m, ok;
	CHECK_ERR(zmq_msg_init(NULL), EFAULT);
	CHECK_ERR(zmq_msg_init_size(NULL, 10), EFAULT);
	CHECK_ERR(zmq_msg_init_data(NULL, "x", 1, NULL, NULL), EFAULT);
	CHECK_ERR(zmq_msg_close(NULL), EFAULT);
	CHECK_ERR(zmq_msg_get(NULL, ZMQ_MORE), EFAULT);
	CHECK_OK(zmq_msg_init(&ok));
	CHECK_ERR(zmq_msg_move(NULL, &ok), EFAULT);
	CHECK_ERR(zmq_msg_move(&ok, NULL), EFAULT);
	CHECK_ERR(zmq_msg_copy(NULL, &ok), EFAULT);
	CHECK_ERR(zmq_msg_copy(&ok, NULL), EFAULT);
	errno = 0;
	CHECK(zmq_msg_data(NULL) == NULL);
	CHECK_EQ(errno, EFAULT);
	errno = 0;
	CHECK_EQ(zmq_msg_size(NULL), 0);
	CHECK_EQ(errno, EFAULT);
	errno = 0;
	CHECK_EQ(zmq_msg_more(NULL), 0);
	CHECK_EQ(errno, EFAULT);
	errno = 0;
	CHECK(zmq_msg_gets(NULL, "Socket-Type") == NULL);
	CHECK_EQ(errno, EFAULT);

	/* A closed message: every use but init is EFAULT. */
	CHECK_OK(zmq_msg_init_size(&m, 1000));
	CHECK_OK(zmq_msg_close(&m));
	CHECK_ERR(zmq_msg_close(&m), EFAULT);
	CHECK_ERR(zmq_msg_get(&m, ZMQ_MORE), EFAULT);
	CHECK_ERR(zmq_msg_move(&ok, &m), EFAULT);
	CHECK_ERR(zmq_msg_move(&m, &ok), EFAULT);
	CHECK_ERR(zmq_msg_copy(&ok, &m), EFAULT);
	CHECK_ERR(zmq_msg_copy(&m, &ok), EFAULT);
	errno = 0;
	CHECK(zmq_msg_data(&m) == NULL);
	CHECK_EQ(errno, EFAULT);
	errno = 0;
	CHECK_EQ(zmq_msg_size(&m), 0);
	CHECK_EQ(errno, EFAULT);
	errno = 0;
	CHECK(zmq_msg_gets(&m, "Socket-Type") == NULL);
	CHECK_EQ(errno, EFAULT);
	CHECK_OK(zmq_msg_init(&m)); /* init revives it */
	CHECK_OK(zmq_msg_close(&m));
	CHECK_OK(zmq_msg_close(&ok));
}

enum { CLOSERS = 8 };

static void *
close_copy(void *arg)
{
	zmq_msg_close(arg);
	return NULL;
}

static void
test_copies_closed_in_many_threads(void)
{
	for (int round = 0; round < 50; round++) {
		int calls = 0;
		char *buf = malloc(256);
		CHECK(buf != NULL);
		zmq_msg_t m, copies[CLOSERS];
		pthread_t th[CLOSERS];
		CHECK_OK(zmq_msg_init_data(&m, buf, 256, heap_free, &calls));
		for (int i = 0; i < CLOSERS; i++) {
			CHECK_OK(zmq_msg_init(&copies[i]));
			CHECK_OK(zmq_msg_copy(&copies[i], &m));
		}
		CHECK_OK(zmq_msg_close(&m));
		for (int i = 0; i < CLOSERS; i++)
			CHECK_EQ(pthread_create(&th[i], NULL, close_copy, &copies[i]), 0);
		for (int i = 0; i < CLOSERS; i++)
			CHECK_EQ(pthread_join(th[i], NULL), 0);
		CHECK_EQ(calls, 1);
	}
}

static const struct test tests[] = {
        {"small init_size is inline and allocates nothing",
         test_inline_needs_no_allocation},
        {"large init_size is one allocation", test_heap_is_one_allocation},
        {"large init_size without memory is ENOMEM and empty",
         test_heap_enomem_leaves_empty_message},
        {"an impossible size is ENOMEM", test_huge_size_is_enomem},
        {"user buffer is freed once after the last copy",
         test_user_buffer_freed_once_after_last_copy},
        {"user buffer without memory stays the caller's",
         test_user_buffer_enomem_keeps_buffer},
        {"malloc'd user buffer is released", test_user_buffer_malloced_is_released},
        {"empty user buffer still calls the free function",
         test_empty_user_buffer_still_calls_free_fn},
        {"const data is never freed", test_const_data_is_never_freed},
        {"NULL data with a size is EINVAL", test_null_data_with_size_is_einval},
        {"copy shares heap data", test_copy_shares_heap_data},
        {"copy of an inline message is by value", test_copy_of_inline_is_by_value},
        {"copy releases the destination's content", test_copy_releases_destination},
        {"move empties the source", test_move_empties_source},
        {"move and copy onto itself change nothing", test_move_and_copy_onto_itself},
        {"more flag and get/set properties", test_more_flag_and_properties},
        {"empty and zeroed messages close", test_empty_message_basics},
        {"narrow keeps a slice in place", test_narrow},
        {"metadata lookup ignores case and follows copies",
         test_metadata_lookup_ignores_case},
        {"metadata is replaced and SRCFD reads it", test_metadata_replace_and_srcfd},
        {"metadata without memory is ENOMEM", test_metadata_enomem},
        {"held references make shared copies", test_hold_and_share},
        {"an engine's reference batch keeps metadata alive", test_metadata_batch},
        {"internal buffer copy and delimiter", test_internal_buffer_and_delimiter},
        {"NULL and closed messages are EFAULT", test_efault_cases},
        {"copies closed in many threads free once", test_copies_closed_in_many_threads},
        {NULL, NULL}};

int
main(void)
{
	return test_main(tests);
}
