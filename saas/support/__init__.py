"""Support requests: a recipient asks the tenant (about an invoice, or not), Support and
Administrators answer in a thread, the requester is emailed on each answer."""
