Feature: A user registers callbacks for, and reads outcomes of, its own requests only
  Target Interface v1.1 (SPEC §5): callback registration and outcome reads carry an HTTP Message
  Signature (RFC 9421) by the calling user's XML-signing key, and the DSP checks whose callback or
  outcome it is. Over HTTP only: the reference in-process has no such interface (not applicable).

  @MP107-R4.4
  Scenario: a user cannot register a callback for another user
    Given callback registration over Target Interface v1.1, among the electricity users
    When the wrong network operator registers a callback for the registered network operator's User ID
    Then the DSP refuses the callback registration
    And the registered network operator's callback is unchanged

  @MP107-R4.4
  Scenario: an unsigned callback registration is refused
    Given callback registration over Target Interface v1.1, among the gas users
    When the registered network operator registers a callback for itself without an HTTP Message Signature
    Then the DSP refuses the callback registration
    And the registered network operator's callback is unchanged

  @MP107-R4.4
  Scenario Outline: a callback URL to an address the operator has not allowed is refused: <address>
    Given callback registration over Target Interface v1.1, among the electricity users
    When the registered supplier registers a callback to <url>
    Then the DSP refuses the callback registration
    And the registered supplier's callback is unchanged

    Examples:
      | address                     | url                                      |
      | link-local (cloud metadata) | http://169.254.169.254/latest/meta-data/ |
      | loopback                    | http://127.0.0.2:8080/outcomes           |

  @MP107-R4.4
  Scenario: a user cannot read the outcome of another user's request
    Given outcome reads over Target Interface v1.1
    And a commissioned SMETS1 device of S1SP2 supplying gas
    When the registered network operator sends SRV 6.24.1 for the NetworkOperator slot
    Then the final outcome is I0
    When the registered supplier asks for the outcome of the registered network operator's request
    Then the DSP refuses to show it that outcome
    And the registered network operator can read that outcome itself
