-- Definition: Whether a value is among a filter's choices, where no choice at all chooses every
-- value. One rule for the function and business unit filters of every metric.
create or replace macro chosen(choices, value) as len(choices) = 0 or list_contains(choices, value)
