/* curve.c: placeholder until CURVE lands (fails closed). */
#include "proto/mech/mechanism.h"

#include <errno.h>

int
mech_curve_new(struct mechanism **out, const struct options *opts, const char *peer_ip,
               const struct mech_host *host)
{
	(void)out;
	(void)opts;
	(void)peer_ip;
	(void)host;
	return -EPROTONOSUPPORT;
}
