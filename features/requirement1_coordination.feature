Feature: SECMP0107 Requirement 1 - DSP and S1SP releases must be coordinated
  FIA risk MP107-R1: the DSP implements one feature switch for all S1SPs. If an S1SP has not
  implemented the change and the DSP has, a Network Operator's 6.15.1 is allowed by the DSP and then
  rejected by that S1SP with the standard S1SP alert.

  @MP107-R1.10 @MP107-R1.9 @FIA-5.2
  Scenario Outline: an S1SP that has not implemented MP107 rejects the wrong Network Operator's 6.15.1 on the <fuel> device of <s1sp>
    Given a commissioned SMETS1 device of <s1sp> supplying <fuel>
    And the registered supplier has placed the wrong network operator's certificates in the NetworkOperator slot with SRV 6.21
    And the DSP feature switch is on
    And <s1sp> has not implemented MP107
    When the wrong network operator sends SRV 6.15.1 with the registered network operator's certificates for the NetworkOperator slot
    Then the DSP acknowledges it with I99
    And the S1SP rejects it with S1VE4
    And SRV 6.24.1 from the registered network operator shows the wrong network operator's certificates in the NetworkOperator slot

    Examples:
      | s1sp  | fuel        |
      | S1SP1 | electricity |
      | S1SP1 | gas         |
      | S1SP2 | electricity |
      | S1SP2 | gas         |
      | S1SP3 | electricity |
      | S1SP3 | gas         |
