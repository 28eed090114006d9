Feature: Every request is signed by its sender, and bad input gets a clear answer and changes nothing
  The harness's own promises (MP107-R4): what the DSP must refuse before any MP107 logic runs.

  @MP107-R4.1
  Scenario Outline: a request signed by someone other than its Business Originator is refused (<fuel>)
    Given a commissioned SMETS1 device of S1SP1 supplying <fuel>
    And the registered supplier has placed the wrong network operator's certificates in the NetworkOperator slot with SRV 6.21
    When the wrong network operator sends SRV 6.15.1 with the registered network operator's certificates for the NetworkOperator slot, signed with the registered network operator's key
    Then the DSP rejects it with E1
    And SRV 6.24.1 from the registered network operator shows the wrong network operator's certificates in the NetworkOperator slot

    Examples:
      | fuel        |
      | electricity |
      | gas         |

  @MP107-R4.1
  Scenario: a request altered after it was signed is refused
    Given a commissioned SMETS1 device of S1SP1 supplying electricity
    And the registered supplier has placed the wrong network operator's certificates in the NetworkOperator slot with SRV 6.21
    When the wrong network operator sends SRV 6.15.1 with the registered network operator's certificates for the NetworkOperator slot, altered after signing
    Then the DSP rejects it with E1
    And SRV 6.24.1 from the registered network operator shows the wrong network operator's certificates in the NetworkOperator slot

  @MP107-R4.2
  Scenario Outline: malformed or hostile input is refused as such: <input>
    Given a commissioned SMETS1 device of S1SP1 supplying electricity
    When the wrong network operator sends <input>
    Then the DSP refuses it as malformed input
    And SRV 6.24.1 from the registered network operator shows the registered network operator's certificates in the NetworkOperator slot

    Examples:
      | input                                               |
      | a request that is not well-formed XML               |
      | a request with an unknown Service Reference Variant |
      | a request whose RequestID holds a bad EUI-64        |
      | a request larger than the DSP accepts               |
      | a request declaring an external entity              |

  @MP107-R4.2
  Scenario: a request to a device that does not exist gets E19
    Given a commissioned SMETS1 device of S1SP1 supplying electricity
    When the registered network operator sends SRV 6.24.1 for the NetworkOperator slot of a device that does not exist
    Then the DSP rejects it with E19

  @MP107-R4.2
  Scenario: a Critical request with a non-critical Command Variant gets E12
    Given a commissioned SMETS1 device of S1SP1 supplying electricity
    When the registered network operator sends SRV 6.15.1 with Command Variant 1 with the registered network operator's certificates for the NetworkOperator slot
    Then the DSP rejects it with E12

  @MP107-R4.2
  Scenario: a request to a device of the wrong type gets E11
    Given a commissioned SMETS1 communications hub of S1SP1 supplying electricity
    When the registered network operator sends SRV 6.24.1 for the NetworkOperator slot
    Then the DSP rejects it with E11

  @MP107-R4.2
  Scenario: a request to a device whose SMI status does not allow it gets E5
    Given a SMETS1 device of S1SP1 supplying electricity and SMI status Decommissioned
    When the registered network operator sends SRV 6.24.1 for the NetworkOperator slot
    Then the DSP rejects it with E5

  @MP107-R4.2
  Scenario Outline: replacement certificates that are not a valid NetworkOperator pair are refused: <problem>
    Given a commissioned SMETS1 device of S1SP1 supplying electricity
    When the registered network operator sends SRV 6.15.1 for the NetworkOperator slot with <problem>
    Then the DSP acknowledges it with I99
    And the final outcome is not I0
    And SRV 6.24.1 from the registered network operator shows the registered network operator's certificates in the NetworkOperator slot

    Examples:
      | problem                                        |
      | the registered supplier's certificates         |
      | its own certificates in swapped key usages     |
      | certificates from an SMKI the DCC does not know |

  @MP107-R4.1
  Scenario: a request from a User ID the DCC does not know is refused
    Given a commissioned SMETS1 device of S1SP1 supplying electricity
    When a user the DCC does not know sends SRV 6.24.1 for the NetworkOperator slot
    Then the DSP rejects it with E1

  @MP107-R4.2 @MP107-R3.1
  Scenario: a SMETS2 device refuses replacement certificates of the wrong role
    Given a commissioned SMETS2 device supplying electricity
    When the registered network operator sends SRV 6.15.1 for the NetworkOperator slot with the registered supplier's certificates
    Then the DSP acknowledges it with I99
    And the final outcome is not I0
    When the registered network operator sends SRV 6.15.1 with the registered network operator's certificates for the NetworkOperator slot
    Then the final outcome is I0

  @MP107-R4.3
  Scenario: a replayed 6.21 cannot undo the wrong Network Operator's correction
    Given a commissioned SMETS1 device of S1SP1 supplying electricity
    And the DSP feature switch is on
    And the registered supplier has placed the wrong network operator's certificates in the NetworkOperator slot with SRV 6.21
    And the wrong network operator has placed the registered network operator's certificates in the NetworkOperator slot with SRV 6.15.1
    When the registered supplier's SRV 6.21 is sent again unchanged
    Then the DSP rejects it with E1
    And SRV 6.24.1 from the registered network operator shows the registered network operator's certificates in the NetworkOperator slot

  @MP107-R4.3
  Scenario: a request whose OriginatorCounter is below one already accepted is refused
    Given a commissioned SMETS1 device of S1SP2 supplying gas
    When the registered network operator sends SRV 6.24.1 for the NetworkOperator slot with an OriginatorCounter lower than its last
    Then the DSP rejects it with E1
