/* registry.c - every activity compiled into healer, by name.
 *
 * Adding an activity: write activities/<name>.c exporting one
 * `const hl_activity hl_activity_<name>`, declare it below and list it.
 */
#include <string.h>

#include "healer/activity.h"

extern const hl_activity hl_activity_echo;
extern const hl_activity hl_activity_remediate_disk;
extern const hl_activity hl_activity_remediate_sg;
extern const hl_activity hl_activity_renew_cert;
extern const hl_activity hl_activity_ticket;
extern const hl_activity hl_activity_notify;
extern const hl_activity hl_activity_audit;
extern const hl_activity hl_activity_guard;
extern const hl_activity hl_activity_diagnose;
extern const hl_activity hl_activity_recover;

static const hl_activity *const registry[] = {
	&hl_activity_echo,
	&hl_activity_remediate_disk,
	&hl_activity_remediate_sg,
	&hl_activity_renew_cert,
	&hl_activity_ticket,
	&hl_activity_notify,
	&hl_activity_audit,
	&hl_activity_guard,
	&hl_activity_diagnose,
	&hl_activity_recover,
	NULL,
};

const hl_activity *hl_activity_find(const char *name)
{
	for (size_t i = 0; registry[i]; i++)
		if (strcmp(registry[i]->name, name) == 0)
			return registry[i];
	return NULL;
}

const hl_activity *const *hl_activity_all(void)
{
	return registry;
}
