"""What people tells the areas above it.

People sits below participation (enrollments point at people), so it never imports
participation. Merging two records of one person must still fold their two active
enrollments in one program into one (the database allows one per person and program, and
the completion report must count the person once). ``person_merge`` sends ``people_merging``
inside its transaction, before any foreign key moves; participation's receiver merges the
enrollments through its own service (``send``, not ``send_robust``: an error rolls the merge
back).
"""

from django.dispatch import Signal

# Two people are being merged. Arguments: actor, keep (the survivor), gone (the duplicate),
# both locked. Receivers answer a list of what they merged, for the merge's audit event.
people_merging = Signal()
