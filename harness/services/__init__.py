"""Dependent services: servers that are also clients (harness.scenario.service_spec).

Above world/ and client/ in the import order: a service is a server in the world whose own calls
go through the client stack (DNS resolver, transport, pipeline). The runner wires the tier to a
world (`attach_services`); faults reach it through the world's `services` control.
"""
