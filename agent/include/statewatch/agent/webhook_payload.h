// The JSON body of a webhook notification, in Alertmanager's webhook format (version "4"), so a
// consumer written for Alertmanager — PagerDuty bridges, chat relays, ticket bots — works with
// statewatchd unchanged.
//
// statewatchd groups by every label (Alertmanager's `group_by: ['...']`): each notification
// carries exactly one alert, its groupLabels are all of the alert's labels, and its groupKey
// names them. One alert per notification is what lets the outbox deliver each
// (fingerprint, status, startsAt) once, however many other alerts come and go.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>

#include "statewatch/rules/alert.h"

namespace statewatch::agent {

enum class NotificationStatus { kFiring, kResolved };

// The body for `alert` sent to `receiver`. startsAt is the alert's fired_at (as Prometheus
// sends it); endsAt is resolved_at for a resolved alert and Alertmanager's zero time
// "0001-01-01T00:00:00Z" while firing. generatorURL points at the alert in our own API.
std::string BuildWebhookPayload(const std::string& receiver, const std::string& external_url,
                                const rules::Alert& alert, NotificationStatus status);

// The body of a POST to Alertmanager's /api/v2/alerts: a one-element array, as Prometheus sends
// it. startsAt is fired_at; endsAt is resolved_at for a resolved alert and, while firing,
// `valid_until_millis` — Prometheus sends now + 4 × its resend delay, so that an Alertmanager
// that stops hearing from us resolves the alert itself rather than keeping it forever.
std::string BuildAlertmanagerPayload(const std::string& external_url, const rules::Alert& alert,
                                     NotificationStatus status, int64_t valid_until_millis);

// "2026-11-25T08:00:00.123Z" (RFC 3339, UTC, milliseconds).
std::string FormatRfc3339(int64_t unix_millis);

}  // namespace statewatch::agent
