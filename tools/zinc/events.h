/* events.h: monitor events in words (events.c). */
#ifndef ZINC_CLI_EVENTS_H
#define ZINC_CLI_EVENTS_H

#include <stddef.h>

/* cli_event_describe: what value means for event, in out ("fd 7", "Connection
 * refused"); empty when it means nothing worth saying. */
void cli_event_describe(unsigned event, unsigned value, char *out, size_t len);

#endif
