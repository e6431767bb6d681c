"""Demo data for `make run`: users, a protocol, synthetic reports, soft labels.

Project glue: seeding touches every app (reports for access and imports, annotation for labels,
training later), so it lives above them all and goes through their services like any user would.
"""
