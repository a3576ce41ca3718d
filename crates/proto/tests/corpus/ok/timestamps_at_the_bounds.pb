
evt-campaign-1"marketoRd

webinar-q1Q1 product webinarevents"webinar*
newsletter2WQ18Bevents-2026Pÿ·ÿıÎ9Z	àÆ[EUR