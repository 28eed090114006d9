@reference-pit
Feature: Reference PIT - SECMP0107 Requirement 2 - the reference's data-fix script on an S1SP database
  These are tests of the reference's own data-fix script (reference/datafix), run on scratch SQLite
  and PostgreSQL databases built from a census: they are not part of any target's verdict. A target's
  Requirement 2 verdict comes only from features/requirement2_datafix.feature (through the DCC).
  The requirement tags say which requirement the reference's script is shown to meet.
  FIA 4.2.2 and 5.1.2: the DCC replaces the incorrect Network Operator certificates in the SMETS1
  virtual anchor slots with those of the Network Operator registered for the supply, taken from
  the Network Operators' published certificates, as a database script run on each S1SP's database,
  independently of live traffic. PIT shows it runs independently as a database script.

  @MP107-R2.3 @MP107-R2.2
  Scenario Outline: a dry run on <database> reports the wrong devices and changes nothing
    Given an S1SP database on <database> of 5000 devices with wrong Network Operator certificates on
      | cohort | ESME | GPF |
      | IOC    | 90   | 189 |
      | MOC    | 12   | 122 |
    When the operator runs the data fix as a dry run
    Then the report shows per cohort and device type
      | cohort | type | found | fixed |
      | IOC    | ESME | 90    | 90    |
      | IOC    | GPF  | 189   | 189   |
      | MOC    | ESME | 12    | 12    |
      | MOC    | GPF  | 122   | 122   |
      | FOC    | ESME | 0     | 0     |
      | FOC    | GPF  | 0     | 0     |
    And no row of the S1SP database has changed

    Examples:
      | database   |
      | sqlite     |
      | postgresql |

  @MP107-R2.1 @MP107-R2.2 @MP107-R2.4
  Scenario Outline: a run on <database> fixes exactly the wrong devices, touches nothing else and audits every change
    Given an S1SP database on <database> of 5000 devices with wrong Network Operator certificates on
      | cohort | ESME | GPF |
      | IOC    | 90   | 189 |
      | MOC    | 12   | 122 |
    When the operator runs the data fix
    Then every wrong device's NetworkOperator slot holds the registered network operator's certificates from the repository
    And no other row of the S1SP database has changed
    And the audit trail holds the old and the new certificate serial of every replaced certificate
    And the report shows per cohort and device type
      | cohort | type | found | fixed |
      | IOC    | ESME | 90    | 90    |
      | IOC    | GPF  | 189   | 189   |
      | MOC    | ESME | 12    | 12    |
      | MOC    | GPF  | 122   | 122   |

    Examples:
      | database   |
      | sqlite     |
      | postgresql |

  @MP107-R2.3
  Scenario Outline: a second run on <database> changes nothing
    Given an S1SP database on <database> of 3000 devices with wrong Network Operator certificates on
      | cohort | ESME | GPF |
      | IOC    | 40   | 70  |
    And the data fix has already run on it
    When the operator runs the data fix
    Then the report shows 0 devices found
    And no row of the S1SP database has changed

    Examples:
      | database   |
      | sqlite     |
      | postgresql |

  @MP107-R2.3
  Scenario Outline: a failure half-way through a run on <database> leaves the database as it was (after <step>)
    Given an S1SP database on <database> of 3000 devices with wrong Network Operator certificates on
      | cohort | ESME | GPF |
      | IOC    | 40   | 70  |
    When the operator runs the data fix and it fails after the <step> step
    Then the run is reported as failed and rolled back
    And no row of the S1SP database has changed

    Examples:
      | database   | step   |
      | sqlite     | audit  |
      | sqlite     | update |
      | postgresql | audit  |
      | postgresql | update |

  @MP107-R2.4
  Scenario Outline: devices the fix cannot fix on <database> are listed with the reason and left alone
    Given an S1SP database on <database> of 3000 devices with wrong Network Operator certificates on
      | cohort | ESME | GPF |
      | IOC    | 40   | 70  |
    And among the wrong devices some the fix cannot fix
      | cohort | type | reason                                             | count |
      | IOC    | ESME | no Registration Data                               | 3     |
      | MOC    | GPF  | registered NO has no certificate in the repository | 4     |
    When the operator runs the data fix
    Then the report lists the devices it could not fix
      | reason                                             | count |
      | no Registration Data                               | 3     |
      | registered NO has no certificate in the repository | 4     |
    And the devices it could not fix are untouched

    Examples:
      | database   |
      | sqlite     |
      | postgresql |

  @MP107-R2.4 @FIA-4.2.2
  Scenario: the FIA's census: a dry run reproduces the FIA's numbers
    Given an S1SP database on sqlite of 40000 devices with the FIA's census of wrong Network Operator certificates
    When the operator runs the data fix as a dry run
    Then the report shows per cohort and device type
      | cohort | type | found | fixed |
      | IOC    | ESME | 9024  | 9024  |
      | IOC    | GPF  | 18905 | 18905 |
      | MOC    | ESME | 125   | 125   |
      | MOC    | GPF  | 1226  | 1226  |
      | FOC    | ESME | 0     | 0     |
      | FOC    | GPF  | 0     | 0     |
