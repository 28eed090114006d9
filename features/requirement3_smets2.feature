Feature: SECMP0107 changes nothing for SMETS2
  Critical Service Requests to SMETS2 devices have no Registration Data check, and the device
  itself only accepts a replacement from the Known Remote Party whose certificate it holds.

  @MP107-R3.1
  Scenario Outline: on the SMETS2 <fuel> device the wrong Network Operator replaces its own certificate without a Registration Data check
    Given a commissioned SMETS2 device supplying <fuel>
    And the registered supplier has placed the wrong network operator's certificates in the NetworkOperator slot with SRV 6.21
    When the wrong network operator sends SRV 6.15.1 with the registered network operator's certificates for the NetworkOperator slot
    Then the DSP acknowledges it with I99
    And the final outcome is I0

    Examples:
      | fuel        |
      | electricity |
      | gas         |

  @MP107-R3.1
  Scenario Outline: on the SMETS2 <fuel> device a Network Operator that owns nothing there cannot replace the certificates
    Given a commissioned SMETS2 device supplying <fuel>
    When the third network operator sends SRV 6.15.1 with the third network operator's certificates for the NetworkOperator slot
    Then the DSP acknowledges it with I99
    And the final outcome is not I0
    When the registered network operator sends SRV 6.15.1 with the registered network operator's certificates for the NetworkOperator slot
    Then the DSP acknowledges it with I99
    And the final outcome is I0

    Examples:
      | fuel        |
      | electricity |
      | gas         |
