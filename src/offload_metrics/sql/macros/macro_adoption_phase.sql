-- Definition: The adoption phase of an offloaded share: pilot_plateau below the first bound,
-- crossing_point below the second, acceleration below the third, else saturation (a share within
-- tolerance of a bound reaches it); null without a share. One rule for functions and the
-- organisation alike.
create or replace macro adoption_phase(share, pilot, crossing, saturation, tolerance) as
    case
        when share is null then null
        when share < pilot - tolerance then 'pilot_plateau'
        when share < crossing - tolerance then 'crossing_point'
        when share < saturation - tolerance then 'acceleration'
        else 'saturation'
    end
