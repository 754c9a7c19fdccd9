-- Definition: An amount counted per minute (minutes x an hourly rate) in hours' terms: amount / 60,
-- exact to 14 decimal places (cut toward zero, so a value on a half cent stays on it) as
-- DECIMAL(38, 14). DuckDB's division returns a double, which puts 20 minutes at $30.045 an hour
-- just under $10.015 and rounds it to $10.01; here the sixtieth is taken in whole units.
create or replace macro from_minutes(amount) as
    sign(amount) * (
        cast(cast(floor(abs(amount)) as hugeint) // 60 as decimal(38, 0))
        + cast(
            cast(
                (cast(floor(abs(amount)) as hugeint) % 60 + (abs(amount) - floor(abs(amount))))
                * 100000000000000 as hugeint
            ) // 60 as decimal(38, 0)
        ) * 0.00000000000001
    )
