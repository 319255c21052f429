"""Fake provider APIs for the pull tests: real HTTP servers on 127.0.0.1 that speak each provider's
documented wire format, with knobs to inject the faults the pull must survive."""
