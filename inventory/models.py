"""Donors, donations, laptops and their lifecycle, data-wipe records, repairs.

A laptop's status changes only through inventory.services, which locks the row, checks the
move against `Laptop.TRANSITIONS` and writes a `LaptopStatusChange`.
"""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from phonenumber_field.modelfields import PhoneNumberField
from simple_history.models import HistoricalRecords

from defis.models import ChoiceLabels

ASSET_TAG_PREFIX = "DEF-"
ASSET_TAG_COUNTER = "asset_tag"


def format_asset_tag(number: int) -> str:
    return f"{ASSET_TAG_PREFIX}{number:04d}"


def normalise_serial(value) -> str:
    """Serial numbers are compared and stored without spaces around, in capitals."""
    return "" if value is None else str(value).strip().upper()


class Donor(ChoiceLabels, models.Model):
    """A company, local authority, association or person who gives laptops."""

    class Kind(models.TextChoices):
        COMPANY = "company", _("Company")
        LOCAL_AUTHORITY = "local_authority", _("Local authority")
        ASSOCIATION = "association", _("Association")
        INDIVIDUAL = "individual", _("Individual")

    name = models.CharField(_("name"), max_length=200, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.COMPANY)
    contact_name = models.CharField(_("contact person"), max_length=200, blank=True)
    email = models.EmailField(_("email"), blank=True)
    phone = PhoneNumberField(_("phone"), blank=True)
    town = models.CharField(_("town"), max_length=100, blank=True)
    notes = models.TextField(_("notes"), blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("donor")
        verbose_name_plural = _("donors")

    def __str__(self):
        return self.name


class Donation(models.Model):
    """One intake batch: the laptops a donor gave on one day."""

    donor = models.ForeignKey(
        Donor, on_delete=models.PROTECT, related_name="donations", verbose_name=_("donor")
    )
    received_on = models.DateField(_("received on"))
    laptops_announced = models.PositiveIntegerField(
        _("laptops announced"),
        default=0,
        help_text=_("How many machines the donor said they would give."),
    )
    notes = models.TextField(_("notes"), blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("recorded by"),
    )
    created_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        ordering = ["-received_on", "-id"]
        verbose_name = _("donation")
        verbose_name_plural = _("donations")

    def __str__(self):
        return _("%(donor)s, %(date)s") % {
            "donor": self.donor,
            "date": self.received_on.strftime("%d/%m/%Y"),
        }

    def get_absolute_url(self):
        return reverse("inventory:donation", args=[self.pk])


class Location(models.Model):
    """Where a laptop is kept when it is not with a trainee (workshop, store room, branch)."""

    name = models.CharField(_("name"), max_length=100, unique=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("location")
        verbose_name_plural = _("locations")

    def __str__(self):
        return self.name


class LaptopQuerySet(models.QuerySet):
    def in_stock(self):
        """Laptops that can be lent out now."""
        return self.filter(status=Laptop.Status.READY)

    def search(self, text: str):
        text = text.strip()
        if not text:
            return self
        return self.filter(
            Q(asset_tag__icontains=text)
            | Q(serial_number__icontains=text)
            | Q(brand__icontains=text)
            | Q(model__icontains=text)
        )


class Laptop(ChoiceLabels, models.Model):
    class Status(models.TextChoices):
        INTAKE = "intake", pgettext_lazy("laptop status", "Intake")
        REFURBISHING = "refurbishing", pgettext_lazy("laptop status", "Refurbishing")
        READY = "ready", pgettext_lazy("laptop status", "Ready to lend")
        RESERVED = "reserved", pgettext_lazy("laptop status", "Reserved")
        ON_LOAN = "on_loan", pgettext_lazy("laptop status", "On loan")
        RETURNED = "returned", pgettext_lazy("laptop status", "Returned")
        IN_REPAIR = "in_repair", pgettext_lazy("laptop status", "In repair")
        RETIRED = "retired", pgettext_lazy("laptop status", "Retired")
        LOST = "lost", pgettext_lazy("laptop status", "Lost")
        STOLEN = "stolen", pgettext_lazy("laptop status", "Stolen")

    # The lifecycle of DESIGN.md: the moves allowed from each status.
    TRANSITIONS = {
        Status.INTAKE: {Status.REFURBISHING, Status.IN_REPAIR, Status.RETIRED},
        Status.REFURBISHING: {Status.READY, Status.IN_REPAIR, Status.RETIRED},
        Status.READY: {Status.RESERVED, Status.REFURBISHING, Status.IN_REPAIR, Status.RETIRED},
        Status.RESERVED: {Status.ON_LOAN, Status.READY},
        Status.ON_LOAN: {Status.RETURNED, Status.LOST, Status.STOLEN},
        Status.RETURNED: {Status.REFURBISHING, Status.READY, Status.IN_REPAIR, Status.RETIRED},
        Status.IN_REPAIR: {Status.REFURBISHING, Status.READY, Status.RETIRED},
        Status.RETIRED: set(),
        # A lost or stolen laptop that turns up again comes back as returned, to be wiped.
        Status.LOST: {Status.RETURNED},
        Status.STOLEN: {Status.RETURNED},
    }
    # Moves staff make from the laptop's page; the others belong to requests and loans.
    WORKSHOP_TARGETS = (Status.REFURBISHING, Status.IN_REPAIR, Status.READY)
    # What describes the machine, as staff edit it and as imports and exports carry it.
    DESCRIPTION_FIELDS = (
        "brand",
        "model",
        "serial_number",
        "processor",
        "ram_gb",
        "storage_gb",
        "storage_type",
        "screen_inches",
        "operating_system",
        "keyboard_layout",
        "grade",
        "has_charger",
        "has_bag",
        "has_mouse",
        "replacement_value",
        "location",
    )
    # Statuses in which the laptop is in the workshop: wipes and repairs are recorded then.
    IN_WORKSHOP = (
        Status.INTAKE,
        Status.REFURBISHING,
        Status.READY,
        Status.RETURNED,
        Status.IN_REPAIR,
    )
    # Entering one of these means the laptop may hold someone's data until it is wiped.
    COMES_IN = (Status.INTAKE, Status.RETURNED)

    class Grade(models.TextChoices):
        A = "A", _("A: as new")
        B = "B", _("B: light signs of use")
        C = "C", _("C: visible wear, works well")

    class StorageType(models.TextChoices):
        SSD = "ssd", "SSD"
        NVME = "nvme", "SSD NVMe"
        HDD = "hdd", _("Hard disk")
        EMMC = "emmc", "eMMC"

    class OperatingSystem(models.TextChoices):
        LINUX_MINT = "linux_mint", "Linux Mint"
        UBUNTU = "ubuntu", "Ubuntu"
        DEBIAN = "debian", "Debian"
        WINDOWS_10 = "windows_10", "Windows 10"
        WINDOWS_11 = "windows_11", "Windows 11"
        CHROMEOS_FLEX = "chromeos_flex", "ChromeOS Flex"
        NONE = "none", _("None")

    class KeyboardLayout(models.TextChoices):
        AZERTY_FR = "azerty_fr", _("AZERTY (French)")
        AZERTY_BE = "azerty_be", _("AZERTY (Belgian)")
        QWERTY_US = "qwerty_us", _("QWERTY (US)")
        QWERTY_UK = "qwerty_uk", _("QWERTY (UK)")
        QWERTZ = "qwertz", _("QWERTZ")

    class RetirementReason(models.TextChoices):
        RECYCLED = "recycled", _("Sent for recycling")
        PARTS = "parts", _("Kept for parts")
        DONATED_ON = "donated_on", _("Donated on to another organisation")

    asset_tag = models.CharField(
        _("asset tag"),
        max_length=20,
        unique=True,
        editable=False,
        help_text=_("Given by the application: DEF-0001, DEF-0002…"),
    )
    brand = models.CharField(_("brand"), max_length=60)
    model = models.CharField(_("model"), max_length=100)
    serial_number = models.CharField(_("serial number"), max_length=60, blank=True)
    processor = models.CharField(_("processor"), max_length=100, blank=True)
    ram_gb = models.PositiveSmallIntegerField(
        _("RAM (GB)"), null=True, blank=True, validators=[MinValueValidator(1)]
    )
    storage_gb = models.PositiveIntegerField(
        _("storage (GB)"), null=True, blank=True, validators=[MinValueValidator(1)]
    )
    storage_type = models.CharField(
        _("storage type"), max_length=10, choices=StorageType.choices, blank=True
    )
    screen_inches = models.DecimalField(
        _("screen size (inches)"),
        max_digits=3,
        decimal_places=1,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("7"))],
    )
    operating_system = models.CharField(
        _("operating system"), max_length=20, choices=OperatingSystem.choices, blank=True
    )
    keyboard_layout = models.CharField(
        _("keyboard layout"),
        max_length=20,
        choices=KeyboardLayout.choices,
        default=KeyboardLayout.AZERTY_FR,
    )
    grade = models.CharField(_("grade"), max_length=1, choices=Grade.choices, blank=True)
    has_charger = models.BooleanField(_("charger"), default=True)
    has_bag = models.BooleanField(_("bag"), default=False)
    has_mouse = models.BooleanField(_("mouse"), default=False)
    replacement_value = models.DecimalField(
        _("replacement value (€)"),
        max_digits=8,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
        help_text=_("What a similar refurbished machine would cost; printed on the agreement."),
    )
    location = models.ForeignKey(
        Location,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="laptops",
        verbose_name=_("location"),
    )
    donation = models.ForeignKey(
        Donation,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="laptops",
        verbose_name=_("donation"),
    )
    notes = models.TextField(_("notes"), blank=True)

    status = models.CharField(
        _("status"),
        max_length=20,
        choices=Status.choices,
        default=Status.INTAKE,
        editable=False,
        db_index=True,
    )
    status_changed_at = models.DateTimeField(_("status changed at"), null=True, editable=False)
    retirement_reason = models.CharField(
        _("retirement reason"),
        max_length=20,
        choices=RetirementReason.choices,
        blank=True,
        editable=False,
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    objects = LaptopQuerySet.as_manager()
    # The audit trail: who changed what, and when (django-simple-history).
    history = HistoricalRecords()

    class Meta:
        ordering = ["asset_tag"]
        verbose_name = _("laptop")
        verbose_name_plural = _("laptops")
        constraints = [
            models.UniqueConstraint(
                "serial_number",
                condition=~Q(serial_number=""),
                name="laptop_serial_unique_when_set",
                violation_error_message=_("Another laptop already has this serial number."),
            ),
            models.CheckConstraint(
                condition=~Q(status="retired") | ~Q(retirement_reason=""),
                name="laptop_retired_has_reason",
            ),
        ]

    def __str__(self):
        return f"{self.asset_tag} · {self.brand} {self.model}"

    def get_absolute_url(self):
        return reverse("inventory:laptop", args=[self.pk])

    def clean(self):
        super().clean()
        self.serial_number = normalise_serial(self.serial_number)
        self.brand = self.brand.strip()
        self.model = self.model.strip()

    @property
    def name(self) -> str:
        return f"{self.brand} {self.model}"

    @property
    def accessories(self) -> list[str]:
        pairs = (
            (self.has_charger, _("charger")),
            (self.has_bag, _("bag")),
            (self.has_mouse, _("mouse")),
        )
        return [str(label) for present, label in pairs if present]

    @property
    def storage(self) -> str:
        if not self.storage_gb:
            return ""
        if self.storage_gb < 1000:
            size = f"{self.storage_gb} Go"
        else:
            size = f"{self.storage_gb // 1000} To"
        return f"{size} {self.get_storage_type_display()}".strip()

    def allowed_moves(self) -> list[str]:
        return sorted(self.TRANSITIONS[self.status], key=list(self.Status).index)

    def workshop_moves(self) -> list[str]:
        """The moves offered on the laptop's page (retirement has its own form). A laptop out
        of the workshop (reserved, on loan, lost…) moves only with its request or loan."""
        if not self.is_in_workshop:
            return []
        return [s for s in self.allowed_moves() if s in self.WORKSHOP_TARGETS]

    @property
    def can_be_retired(self) -> bool:
        return self.Status.RETIRED in self.TRANSITIONS[self.status]

    @property
    def is_in_workshop(self) -> bool:
        return self.status in self.IN_WORKSHOP


class LaptopStatusChange(ChoiceLabels, models.Model):
    """One row per change of a laptop's status: the laptop's history."""

    laptop = models.ForeignKey(
        Laptop, on_delete=models.CASCADE, related_name="status_changes", verbose_name=_("laptop")
    )
    from_status = models.CharField(
        _("from"), max_length=20, choices=Laptop.Status.choices, blank=True
    )
    to_status = models.CharField(_("to"), max_length=20, choices=Laptop.Status.choices)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    changed_at = models.DateTimeField(_("when"))
    note = models.TextField(_("note"), blank=True)

    class Meta:
        ordering = ["-changed_at", "-id"]
        verbose_name = _("status change")
        verbose_name_plural = _("status changes")
        indexes = [models.Index(fields=["laptop", "-changed_at"])]

    def __str__(self):
        return f"{self.laptop.asset_tag}: {self.from_status or '∅'} → {self.to_status}"


class WipeRecord(ChoiceLabels, models.Model):
    """A data erasure: no trainee's (or donor's) data reaches the next user."""

    class Method(models.TextChoices):
        NWIPE_ZERO = "nwipe_zero", _("Overwrite, one pass (nwipe / ShredOS)")
        NWIPE_DOD = "nwipe_dod", _("Overwrite, several passes (DoD 5220.22-M)")
        ATA_SECURE_ERASE = "ata_secure_erase", _("ATA Secure Erase")
        NVME_SANITIZE = "nvme_sanitize", _("NVMe sanitize / format")
        BLANCCO = "blancco", _("Certified software (Blancco or similar)")
        DISK_REPLACED = "disk_replaced", _("Disk replaced, old disk destroyed")

    laptop = models.ForeignKey(
        Laptop, on_delete=models.CASCADE, related_name="wipes", verbose_name=_("laptop")
    )
    wiped_on = models.DateField(_("date"))
    method = models.CharField(_("method"), max_length=20, choices=Method.choices)
    operator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("operator"),
    )
    verified = models.BooleanField(
        _("verified"),
        default=False,
        help_text=_("The erasure was checked (the disk read back empty, or the tool's report)."),
    )
    certificate_reference = models.CharField(_("certificate reference"), max_length=100, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    recorded_at = models.DateTimeField(_("recorded at"))

    class Meta:
        ordering = ["-recorded_at", "-id"]
        verbose_name = _("data wipe")
        verbose_name_plural = _("data wipes")

    def __str__(self):
        return f"{self.laptop.asset_tag}: {self.get_method_display()} ({self.wiped_on:%d/%m/%Y})"


class Repair(models.Model):
    laptop = models.ForeignKey(
        Laptop, on_delete=models.CASCADE, related_name="repairs", verbose_name=_("laptop")
    )
    repaired_on = models.DateField(_("date"))
    work_done = models.TextField(_("work done"))
    parts = models.CharField(_("parts"), max_length=200, blank=True)
    cost = models.DecimalField(
        _("cost (€)"),
        max_digits=8,
        decimal_places=2,
        default=Decimal("0.00"),
        validators=[MinValueValidator(Decimal("0"))],
    )
    repaired_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("repaired by"),
    )
    recorded_at = models.DateTimeField(_("recorded at"))

    class Meta:
        ordering = ["-repaired_on", "-id"]
        verbose_name = _("repair")
        verbose_name_plural = _("repairs")

    def __str__(self):
        return f"{self.laptop.asset_tag}: {self.work_done[:40]}"
