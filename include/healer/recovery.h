/* recovery.h - recognising a problem that went away on its own (or after a
 * person fixed it), so the `recover` activity can close its tickets.
 *
 * Recovery events (terraform/events.tf rules disk_ok and ssh_ok start the
 * engine with them; the guard sends them to the Recover state):
 *   - a CloudWatch alarm state change to OK of the alarm shape disk_pressure
 *     handles (CWAgent disk_used_percent, one metric, InstanceId in the
 *     dimensions map), muted or not;
 *   - a Config Rules Compliance Change of a restricted-ssh rule turning a
 *     security group COMPLIANT.
 * They are checked with the same strict classifier as problems
 * (hl_event_classify): a copy of the event with the state turned back into
 * the problem's (OK -> ALARM without muteDetail, COMPLIANT ->
 * NON_COMPLIANT) must classify as that problem's class, so every id is
 * validated exactly as for a remediation and nothing is guessed.
 */
#ifndef HEALER_RECOVERY_H
#define HEALER_RECOVERY_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "healer/event.h"

/* True for a recovery event; then info describes the problem that
 * recovered (class, validated resource) and what (if not NULL) a short
 * printable description ("alarm NAME back to OK", "restricted-ssh
 * COMPLIANT again"). False (info->cls UNKNOWN) for anything else. */
bool hl_event_recovery(json_object *event, hl_event_info *info, char *what, size_t whatsz);

#endif
