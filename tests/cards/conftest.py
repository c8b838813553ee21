from tests.cards.stripe_fixtures import *  # noqa
from tests.cards.pcsc_fixtures import *  # noqa
