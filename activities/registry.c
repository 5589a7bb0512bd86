/* registry.c - every activity compiled into healer, by name.
 *
 * Adding an activity: write activities/<name>.c exporting one
 * `const hl_activity hl_activity_<name>`, declare it below and list it.
 */
#include <string.h>

#include "healer/activity.h"

extern const hl_activity hl_activity_echo;

static const hl_activity *const registry[] = {
	&hl_activity_echo,
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
