"""Project lifecycle: a proposal is drafted and submitted, the general assembly's decision is
recorded by an approver, an approval provisions the project (its area, and access requests for
its people), the data manager records each site's transfer agreement, and an expired agreement
or the administrator closes the project again."""
