from django.dispatch import Signal

# Sent once per stored batch, after its transaction commits, with the newly inserted
# rows only: observations_stored.send(sender=PriceObservation, observations=[...]).
observations_stored = Signal()
