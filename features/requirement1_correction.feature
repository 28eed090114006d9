Feature: SECMP0107 Requirement 1 - a Network Operator corrects a wrong NO certificate on a SMETS1 device
  The FIA (CR4296, section 5.2): send SRV 6.21 to a DCC-enrolled SMETS1 device with the incorrect
  certificate for the Network Operator; the Network Operator owning that certificate then sends
  SRV 6.15.1 to associate the correct certificate with the device. Run for each S1SP and each fuel
  (ESME with an Electricity Distributor, GPF with a Gas Transporter), with the DSP feature switch on:
  set by the harness where the target lets it, else as the target's conformance statement declares.

  @MP107-R1.4 @MP107-R1.1 @MP107-R1.2 @MP107-R1.9 @MP107-R3.3 @FIA-5.2
  Scenario Outline: FIA SIT script: the wrong Network Operator puts the registered Network Operator's certificates on the <fuel> device of <s1sp>
    Given a commissioned SMETS1 device of <s1sp> supplying <fuel>
    And the DSP feature switch is on
    And the registered supplier has placed the wrong network operator's certificates in the NetworkOperator slot with SRV 6.21
    When the wrong network operator sends SRV 6.15.1 with the registered network operator's certificates for the NetworkOperator slot
    Then the DSP acknowledges it with I99
    And the final outcome is I0
    And SRV 6.24.1 from the registered network operator shows the registered network operator's certificates in the NetworkOperator slot

    Examples:
      | s1sp  | fuel        |
      | S1SP1 | electricity |
      | S1SP1 | gas         |
      | S1SP2 | electricity |
      | S1SP2 | gas         |
      | S1SP3 | electricity |
      | S1SP3 | gas         |

  @MP107-R1.3 @MP107-R1.9
  Scenario Outline: the registered Network Operator cannot replace a wrong NO's certificate itself on the <fuel> device of <s1sp>
    Given a commissioned SMETS1 device of <s1sp> supplying <fuel>
    And the DSP feature switch is on
    And the registered supplier has placed the wrong network operator's certificates in the NetworkOperator slot with SRV 6.21
    When the registered network operator sends SRV 6.15.1 with the registered network operator's certificates for the NetworkOperator slot
    Then the DSP acknowledges it with I99
    And the S1SP rejects it with S1VE64
    And SRV 6.24.1 from the registered network operator shows the wrong network operator's certificates in the NetworkOperator slot

    Examples:
      | s1sp  | fuel        |
      | S1SP1 | electricity |
      | S1SP1 | gas         |
      | S1SP2 | electricity |
      | S1SP2 | gas         |
      | S1SP3 | electricity |
      | S1SP3 | gas         |

  @MP107-R1.5 @MP107-R1.9
  Scenario Outline: after the correction the registered Network Operator is the Known Remote Party on the <fuel> device of <s1sp>
    Given a commissioned SMETS1 device of <s1sp> supplying <fuel>
    And the DSP feature switch is on
    And the registered supplier has placed the wrong network operator's certificates in the NetworkOperator slot with SRV 6.21
    And the wrong network operator has placed the registered network operator's certificates in the NetworkOperator slot with SRV 6.15.1
    When the registered network operator sends SRV 6.15.1 with the registered network operator's certificates for the NetworkOperator slot
    Then the DSP acknowledges it with I99
    And the final outcome is I0

    Examples:
      | s1sp  | fuel        |
      | S1SP1 | electricity |
      | S1SP1 | gas         |
      | S1SP2 | electricity |
      | S1SP2 | gas         |
      | S1SP3 | electricity |
      | S1SP3 | gas         |

  @MP107-R1.6 @MP107-R1.9
  Scenario Outline: after the correction the wrong Network Operator is locked out of the <fuel> device of <s1sp>
    Given a commissioned SMETS1 device of <s1sp> supplying <fuel>
    And the DSP feature switch is on
    And the registered supplier has placed the wrong network operator's certificates in the NetworkOperator slot with SRV 6.21
    And the wrong network operator has placed the registered network operator's certificates in the NetworkOperator slot with SRV 6.15.1
    When the wrong network operator sends SRV 6.15.1 with the wrong network operator's certificates for the NetworkOperator slot
    Then the DSP acknowledges it with I99
    And the S1SP rejects it with S1VE64
    And SRV 6.24.1 from the registered network operator shows the registered network operator's certificates in the NetworkOperator slot

    Examples:
      | s1sp  | fuel        |
      | S1SP1 | electricity |
      | S1SP1 | gas         |
      | S1SP2 | electricity |
      | S1SP2 | gas         |
      | S1SP3 | electricity |
      | S1SP3 | gas         |
