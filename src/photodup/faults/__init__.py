"""The fault suite: kill -9 photodup at real points and check that no photo is ever lost.

``python -m photodup.faults`` (``make faults``) drives real ``photodup resolve`` and
``photodup undo`` processes over a library of multi-megabyte photos, kills them with SIGKILL
at journalled steps (``PHOTODUP_FAULT_POINT``) and at random times, with the quarantine on
the library's filesystem and on another one (``/dev/shm``), and runs two at once. After each
kill it lets recovery run and checks by SHA-256 that every file is in exactly one place.
"""
