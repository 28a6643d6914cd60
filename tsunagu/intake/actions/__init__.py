"""Every change intake makes, one module per topic: recording an application event (events), the CSV
import (imports), ATS connections (connections), webhook deliveries and their processing (deliveries), and
polling the ATSs that cannot push (polling)."""
