Feature: SECMP0107 Requirement 2 - the one-off data fix of wrong NO certificates in an S1SP's database
  FIA 4.2.2 and 5.1.2: the DCC replaces the incorrect Network Operator certificates in the SMETS1
  virtual anchor slots with those of the Network Operator registered for the supply, taken from
  the Network Operators' published certificates, as a database script run on each S1SP's database,
  independently of live traffic. SIT shows the result through the DCC. (The PIT of the reference's
  own script on scratch databases is in tests/pit/datafix_pit.feature: not part of a target's verdict.)

  The harness has evidence about a target's data fix in two ways only: it runs it itself through
  test support (the SIT scenarios below), or the target's conformance statement declares that its
  operator applied it and lists the devices it was to fix and control devices it had to leave
  alone, which 6.24.1 then reads back. With neither, the verdict says "Data fix: not tested".

  @MP107-R2.1 @MP107-R2.4
  Scenario Outline: through the DCC, the data fix corrects the <fuel> device of <s1sp> left wrong by 6.21, and reports it
    Given a commissioned SMETS1 device of <s1sp> supplying <fuel>
    And the registered supplier has placed the wrong network operator's certificates in the NetworkOperator slot with SRV 6.21
    When the DCC runs the data fix on the database of <s1sp>
    Then the data fix reports this device as found and fixed
    And SRV 6.24.1 from the registered network operator shows the registered network operator's certificates in the NetworkOperator slot

    Examples:
      | s1sp  | fuel        |
      | S1SP1 | electricity |
      | S1SP1 | gas         |
      | S1SP2 | electricity |
      | S1SP2 | gas         |
      | S1SP3 | electricity |
      | S1SP3 | gas         |

  @MP107-R2.2
  Scenario Outline: through the DCC, the data fix leaves the correct <fuel> device of <s1sp> alone
    Given a commissioned SMETS1 device of <s1sp> supplying <fuel>
    When the DCC runs the data fix on the database of <s1sp>
    Then the data fix has not changed this device
    And SRV 6.24.1 from the registered network operator shows the registered network operator's certificates in the NetworkOperator slot
    And SRV 6.24.1 from the registered supplier shows the registered supplier's certificates in the Supplier slot

    Examples:
      | s1sp  | fuel        |
      | S1SP1 | electricity |
      | S1SP2 | gas         |
      | S1SP3 | electricity |

  @MP107-R2.3
  Scenario Outline: through the DCC, a dry run changes nothing and a second run changes nothing on the <fuel> device of <s1sp>
    Given a commissioned SMETS1 device of <s1sp> supplying <fuel>
    And the registered supplier has placed the wrong network operator's certificates in the NetworkOperator slot with SRV 6.21
    When the DCC runs the data fix as a dry run on the database of <s1sp>
    Then the data fix has not changed this device
    And SRV 6.24.1 from the registered network operator shows the wrong network operator's certificates in the NetworkOperator slot
    When the DCC runs the data fix on the database of <s1sp>
    And the DCC runs the data fix on the database of <s1sp>
    Then the data fix has not changed this device

    Examples:
      | s1sp  | fuel        |
      | S1SP1 | gas         |
      | S1SP2 | electricity |
      | S1SP3 | gas         |

  @MP107-R2.1
  Scenario: the devices the operator's data fix was to fix hold the registered Network Operator's certificates
    Given the DCC's operator has applied the data fix
    Then SRV 6.24.1 shows the registered network operator's certificates in the NetworkOperator slot of every device the statement lists as fixed

  @MP107-R2.2
  Scenario: the operator's data fix left the control devices alone
    Given the DCC's operator has applied the data fix
    Then SRV 6.24.1 shows the declared certificates in both slots of every control device the statement lists
