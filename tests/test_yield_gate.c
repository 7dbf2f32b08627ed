/*
 * test_yield_gate.c: core/yield_gate.h. A gate starts closed and lets one probe through
 * every GATE_PROBE chances; a yield that paid opens it for GATE_CREDIT more; that many
 * in a row that brought nothing close it again.
 */
#include "testutil.h"
#include "core/yield_gate.h"

/* opens_in: how many chances until the gate lets a yield through (at most limit). */
static int
opens_in(struct yield_gate *g, int limit)
{
	for (int i = 1; i <= limit; i++)
		if (yield_gate_open(g))
			return i;
	return 0;
}

static void
test_closed_gate_probes(void)
{
	struct yield_gate g = {0, 0};
	for (int round = 0; round < 3; round++) {
		CHECK_EQ(opens_in(&g, 100), GATE_PROBE);
		yield_gate_judge(&g, false); /* the probe brought nothing */
	}
}

static void
test_paid_yield_opens_until_unpaid_run(void)
{
	struct yield_gate g = {0, 0};
	CHECK_EQ(opens_in(&g, 100), GATE_PROBE);
	yield_gate_judge(&g, true);
	for (int i = 0; i < GATE_CREDIT; i++) {
		CHECK(yield_gate_open(&g));
		yield_gate_judge(&g, false);
	}
	CHECK(!yield_gate_open(&g)); /* closed: the next yield is a probe away */
	CHECK_EQ(opens_in(&g, 100), GATE_PROBE - 1);
}

static void
test_pay_renews_credit(void)
{
	struct yield_gate g = {0, 0};
	yield_gate_judge(&g, true);
	for (int i = 0; i < 100; i++) { /* alternating: never closes */
		CHECK(yield_gate_open(&g));
		yield_gate_judge(&g, i % 2 == 0);
	}
}

int
main(void)
{
	static const struct test tests[] = {
	        {"a closed gate lets a probe through every GATE_PROBE chances",
	         test_closed_gate_probes},
	        {"a yield that paid opens the gate until GATE_CREDIT bring nothing",
	         test_paid_yield_opens_until_unpaid_run},
	        {"each yield that pays renews the credit", test_pay_renews_credit},
	        {NULL, NULL},
	};
	return test_main(tests);
}
