"""The alerts' writes, one module per concern (callers import the module that owns theirs):

- `webhooks`: webhook endpoints (secret shown on creation and rotation) and events into their
  outbox (`publish`), test messages, redelivery;
- `state_events`: `price.updated` / `feed.status_changed`, derived from the pairs' states;
- `outbox`: the one lease under which both outboxes (webhook messages, channel notices) are
  claimed, and the claim-guarded write of an attempt's outcome;
- `delivery`: sending what is due from both outboxes, retrying, disabling what cannot work;
- `channels`: alert channels (their config checked by their transport), telling one channel;
- `rules`: rules, their params checked by their kind (apps/alerts/rule_kinds);
- `evaluation`: the pairs' states against the rules → conditions, incidents, their webhook
  messages and notices, in one transaction; delivery after the commit;
- `incidents`: who is told about an incident's transitions (notices), acknowledging (signed
  links too), escalating;
- `maintenance`: mutes, maintenance windows and escalation settings, and whether notifications
  are held back now.
"""
