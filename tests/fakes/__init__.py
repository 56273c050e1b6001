"""Fake model providers: real HTTP servers on loopback that speak each provider's wire protocol.

They are the only fakes in the test suite: lynkr, the agents and the SDKs are all real.
"""
