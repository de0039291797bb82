"""Everything that happens on a clock rather than on a user's tap.

`outbox` is the table's state machine (rows, claims, leases, sending, sent, failed);
`planner` fills it from the cards; `dispatcher` sends what is due within Telegram's
limits; `jobs` is what the scheduler wakes and the `salesbot dispatch` worker loop.
"""
