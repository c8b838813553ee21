"""StepFailed: a scenario step that could not run as written (a card that cannot be swiped,
a variable no earlier step captured, a club-side step against an outside club); the runner
reports it as the step's failure."""


class StepFailed(Exception):
    pass
